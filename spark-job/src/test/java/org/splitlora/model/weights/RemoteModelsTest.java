package org.splitlora.model.weights;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.security.auth.module.UnixSystem;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The local cache of models named by URI, with real files through Hadoop's file: filesystem. */
class RemoteModelsTest {

    @TempDir
    Path tmp;

    @Test
    void aCopyIsReusedWhileItsSourceIsUnchangedAndMadeAgainWhenItChanges() throws IOException {
        Path source = model();
        String uri = source.toUri().toString();
        Path cache = tmp.resolve("cache");
        Path copy = RemoteModels.copy(uri, cache);
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(cache)));
        assertArrayEquals(Files.readAllBytes(source.resolve("model.safetensors")), Files.readAllBytes(copy.resolve("model.safetensors")));
        Object copied = fileKey(copy.resolve("model.safetensors"));
        assertEquals(copy, RemoteModels.copy(uri, cache));
        assertEquals(copied, fileKey(copy.resolve("model.safetensors")), "an unchanged source is not copied again");

        // replaced in place: the same size, other bytes, a later modification time
        byte[] replaced = bytes(4096, 7);
        FileTime before = Files.getLastModifiedTime(source.resolve("model.safetensors"));
        Files.write(source.resolve("model.safetensors"), replaced);
        Files.setLastModifiedTime(source.resolve("model.safetensors"), FileTime.fromMillis(before.toMillis() + 10_000));
        assertEquals(copy, RemoteModels.copy(uri, cache));
        assertArrayEquals(replaced, Files.readAllBytes(copy.resolve("model.safetensors")));

        Files.writeString(source.resolve("tokenizer.json"), "{}");
        assertEquals("{}", Files.readString(RemoteModels.copy(uri, cache).resolve("tokenizer.json")));
        Files.delete(source.resolve("tokenizer.json"));
        assertFalse(Files.exists(RemoteModels.copy(uri, cache).resolve("tokenizer.json")));
        assertEquals(1, entries(cache), "no staging or stale copies are left");
    }

    @Test
    void aCopyWithoutAStampIsNeverUsed() throws IOException {
        Path source = model();
        String uri = source.toUri().toString();
        Path cache = tmp.resolve("cache");
        Path copy = RemoteModels.copy(uri, cache);
        // what a copy killed half-way, or an older version's "complete" copy, leaves: no stamp
        Files.delete(copy.resolve(RemoteModels.STAMP));
        Files.write(copy.resolve("model.safetensors"), bytes(10, 3));
        Files.writeString(copy.resolve(".splitlora-complete"), uri);
        assertEquals(copy, RemoteModels.copy(uri, cache));
        assertArrayEquals(Files.readAllBytes(source.resolve("model.safetensors")), Files.readAllBytes(copy.resolve("model.safetensors")));
        assertFalse(Files.exists(copy.resolve(".splitlora-complete")));
        assertEquals(1, entries(cache), "no staging or stale copies are left");
    }

    @Test
    void aCacheOthersCouldWriteIsRefused() throws IOException {
        String uri = model().toUri().toString();
        Path open = Files.createDirectories(tmp.resolve("open"));
        Files.setPosixFilePermissions(open, PosixFilePermissions.fromString("rwxrwxr-x"));
        assertRefused(uri, open, open + " (-Dsplitlora.model.cache) may be written by group or others (rwxrwxr-x)");

        Path link = Files.createSymbolicLink(tmp.resolve("link"), Files.createDirectories(tmp.resolve("real")));
        assertRefused(uri, link, link + " (-Dsplitlora.model.cache) is not a directory of its own");

        // as root: a directory given away to nobody; as anyone else: root's
        long me = new UnixSystem().getUid();
        Path foreign = me == 0 ? Files.createDirectories(tmp.resolve("foreign")) : Path.of("/");
        if (me == 0) {
            Files.setAttribute(foreign, "unix:uid", 65534);
        }
        assertRefused(uri, foreign, "belongs to uid " + (me == 0 ? 65534 : 0) + ", not to this user (uid " + me + ")");
    }

    private static void assertRefused(String uri, Path cache, String expected) {
        ModelLoadException e = assertThrows(ModelLoadException.class, () -> RemoteModels.copy(uri, cache));
        assertTrue(e.getMessage().contains(expected) && !e.getMessage().contains("\n"), e.getMessage());
    }

    private Path model() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("model"));
        Files.writeString(dir.resolve("config.json"), "{\"model_type\": \"gpt2\"}");
        Files.write(dir.resolve("model.safetensors"), bytes(4096, 1));
        return dir;
    }

    private static byte[] bytes(int n, int seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    private static Object fileKey(Path p) throws IOException {
        return Files.readAttributes(p, BasicFileAttributes.class).fileKey();
    }

    private static long entries(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.count();
        }
    }
}
