package org.splitlora.util;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.stream.Stream;

/** Whole-directory replacement, so a reader (or a kill) sees the old directory or the new one, never a mix. */
public final class Directories {

    private Directories() {}

    /** A fresh hidden sibling of {@code target} to build its replacement in. */
    public static Path stagingFor(Path target) {
        return target.resolveSibling("." + target.getFileName() + "-" + UUID.randomUUID());
    }

    /** Moves {@code staged} to {@code target}, replacing what was there (renames, then deletes the old). */
    public static void replace(Path staged, Path target) throws IOException {
        Path old = target.resolveSibling("." + target.getFileName() + "-old-" + UUID.randomUUID());
        if (Files.exists(target)) {
            Files.move(target, old, StandardCopyOption.ATOMIC_MOVE);
        }
        Files.move(staged, target, StandardCopyOption.ATOMIC_MOVE);
        deleteTree(old);
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
