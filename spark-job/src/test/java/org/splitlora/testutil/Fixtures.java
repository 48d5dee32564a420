package org.splitlora.testutil;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/**
 * Paths into ../shared/fixtures (real data the tests read; the product never needs it). Tests that
 * use it carry {@code @Tag("fixtures")}: plain {@code mvn test} leaves them out, {@code -Pfixtures}
 * runs them. A missing fixture fails on one line naming the path.
 */
public final class Fixtures {

    private Fixtures() {}

    /** The fixtures directory: {@code -Dsplitlora.shared=DIR} (set by the build) or ../shared next to the repository. */
    public static Path shared() {
        String p = System.getProperty("splitlora.shared");
        // without the property (an IDE): next to the repository, seen from a module or from the root
        List<Path> candidates = p != null ? List.of(Path.of(p)) : List.of(Path.of("..", "..", "shared"), Path.of("..", "shared"));
        for (Path dir : candidates) {
            if (Files.isDirectory(dir.resolve("fixtures"))) {
                return dir.resolve("fixtures");
            }
        }
        return existing(candidates.get(0).resolve("fixtures"));
    }

    /** {@code relative} under the fixtures directory, which must exist. */
    public static Path file(String relative) {
        return existing(shared().resolve(relative));
    }

    /** Writes the E2E train set's header and first {@code rows} rows (single-line rows) to {@code target}. */
    public static Path e2eTrainHead(Path target, int rows) throws IOException {
        try (Stream<String> lines = Files.lines(file("e2e/trainset.csv"))) {
            return Files.write(target, lines.limit(rows + 1L).toList());
        }
    }

    public static Path stories260k() {
        return file("hf/stories260k");
    }

    public static Path tinyGpt2() {
        return file("hf/tiny-gpt2");
    }

    private static Path existing(Path path) {
        if (!Files.exists(path)) {
            throw new IllegalStateException("test fixture not found: " + path.toAbsolutePath().normalize()
                    + " (a test tagged 'fixtures': run it with -Pfixtures and ../shared/fixtures next to the repository,"
                    + " or -Dsplitlora.shared=DIR)");
        }
        return path;
    }
}
