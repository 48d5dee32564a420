package org.splitlora.testutil;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

/** Paths into ../shared/fixtures (real data the tests read; the product never needs it). */
public final class Fixtures {

    private Fixtures() {}

    public static Path shared() {
        String p = System.getProperty("splitlora.shared");
        Path dir = p != null ? Path.of(p) : Path.of("..", "..", "shared");
        if (!Files.isDirectory(dir)) {
            dir = Path.of("..", "shared");
        }
        if (!Files.isDirectory(dir.resolve("fixtures"))) {
            throw new IllegalStateException("test fixtures not found at " + dir.toAbsolutePath());
        }
        return dir.resolve("fixtures");
    }

    /** Writes the E2E train set's header and first {@code rows} rows (single-line rows) to {@code target}. */
    public static Path e2eTrainHead(Path target, int rows) throws IOException {
        try (Stream<String> lines = Files.lines(shared().resolve("e2e/trainset.csv"))) {
            return Files.write(target, lines.limit(rows + 1L).toList());
        }
    }

    public static Path stories260k() {
        return shared().resolve("hf/stories260k");
    }

    public static Path tinyGpt2() {
        return shared().resolve("hf/tiny-gpt2");
    }

    public static Path tinyGpt2Bf16() {
        return shared().resolve("hf/tiny-gpt2-bf16");
    }
}
