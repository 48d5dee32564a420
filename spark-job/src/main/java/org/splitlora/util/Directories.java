package org.splitlora.util;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.stream.Stream;

/** Local directory trees. */
public final class Directories {

    private Directories() {}

    /** A fresh hidden sibling of {@code target} to build its replacement in. */
    public static Path stagingFor(Path target) {
        return target.resolveSibling("." + target.getFileName() + "-" + UUID.randomUUID());
    }

    public static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        List<Path> paths;
        try (Stream<Path> s = Files.walk(dir)) {
            paths = new ArrayList<>(s.toList());
        }
        for (int i = paths.size() - 1; i >= 0; i--) {
            Files.delete(paths.get(i));
        }
    }
}
