package org.splitlora.testutil;

import java.nio.file.Files;
import java.nio.file.Path;

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
