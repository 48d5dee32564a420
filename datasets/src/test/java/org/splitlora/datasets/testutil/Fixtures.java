package org.splitlora.datasets.testutil;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Paths into ../shared/fixtures for this module's tests (spark-job's tests have their own copy:
 * test classes do not cross modules). Tests that use it carry {@code @Tag("fixtures")}: plain
 * {@code mvn test} leaves them out, {@code -Pfixtures} runs them. A missing fixture fails on one
 * line naming the path.
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

    private static Path existing(Path path) {
        if (!Files.exists(path)) {
            throw new IllegalStateException("test fixture not found: " + path.toAbsolutePath().normalize()
                    + " (a test tagged 'fixtures': run it with -Pfixtures and ../shared/fixtures next to the repository,"
                    + " or -Dsplitlora.shared=DIR)");
        }
        return path;
    }
}
