package org.splitlora.datasets.prepare;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.splitlora.datasets.partition.PartitionSpec;
import org.splitlora.datasets.source.SourceFormat;
import org.splitlora.datasets.source.SourceOptions;
import org.splitlora.datasets.tokenize.TokenizerSpec;

/**
 * {@code --out} and {@code --overwrite} never destroy what prepare did not write: only a previous
 * prepare output is replaced, and a place that cannot be written fails before any reading.
 */
class PrepareOutputSafetyTest {

    static SparkSession spark;

    @TempDir
    Path tmp;

    @BeforeAll
    static void start() {
        spark = PrepareTestSupport.spark();
    }

    private static final String CSV = """
            mr,ref
            "name[The Eagle], eatType[pub]",The Eagle is a pub.
            "name[Aromi], eatType[coffee shop]",Aromi is a coffee shop.
            "name[Zizzi], eatType[pub]",Zizzi is a pub.
            "name[Cotto], eatType[restaurant]",Cotto is a restaurant.
            """;

    private Path write(Path file, String content) throws IOException {
        Files.createDirectories(file.getParent());
        return Files.writeString(file, content, StandardCharsets.UTF_8);
    }

    private static PrepareOptions.Builder options(Path input, Path out) {
        return options(input, out, 1);
    }

    private static PrepareOptions.Builder options(Path input, Path out, long seed) {
        return PrepareOptions.builder(input.toString(), SourceOptions.of(SourceFormat.E2E), PartitionSpec.iid(2, seed),
                out.toString());
    }

    private Manifest run(PrepareOptions o) throws IOException {
        return new DatasetPreparer(spark).run(o, TokenizerSpec.gpt2Bpe()).manifest();
    }

    private String refused(PrepareOptions o) {
        return assertThrows(IllegalArgumentException.class, () -> run(o)).getMessage();
    }

    @Test
    void overwriteReplacesOnlyAPreviousPrepareOutput() throws IOException {
        Path in = write(tmp.resolve("in.csv"), CSV);
        Path out = tmp.resolve("out");

        // Not ours: a directory of other files, or a file, is refused with and without --overwrite.
        Path keep = write(out.resolve("keep.txt"), "mine");
        for (boolean overwrite : new boolean[] {false, true}) {
            String e = refused(options(in, out).overwrite(overwrite).build());
            assertTrue(e.startsWith("out: ") && e.contains(out.toString()) && e.contains("not a prepare output"), e);
            assertEquals("mine", Files.readString(keep));
        }
        Path file = write(tmp.resolve("file.txt"), "mine");
        String e = refused(options(in, file).overwrite(true).build());
        assertTrue(e.contains(file + " already exists and is a file"), e);
        assertEquals("mine", Files.readString(file));

        // An empty directory (made for the output) is used, without --overwrite.
        Files.delete(keep);
        run(options(in, out).build());
        assertTrue(Files.exists(out.resolve(Manifest.FILE_NAME)));

        // A previous output: kept without --overwrite, and by a failing run; replaced by a good one.
        assertTrue(refused(options(in, out).build()).contains("already exists (use --overwrite to replace it)"));
        Path bad = write(tmp.resolve("bad.csv"), "mr,text\nx,y\n");
        assertTrue(refused(options(bad, out).overwrite(true).build()).contains("missing column"));
        assertTrue(Files.exists(out.resolve(Manifest.FILE_NAME)));
        Manifest m = run(options(in, out, 7).overwrite(true).build());
        assertEquals(7, PrepareTestSupport.manifest(spark, out).seed);
        assertEquals(m.contentHash, PrepareTestSupport.manifest(spark, out).contentHash);
        try (Stream<Path> s = Files.list(tmp)) {
            assertEquals(List.of(), s.filter(p -> p.getFileName().toString().startsWith(".out")).toList());
        }
    }

    @Test
    void aPreviousOutputHoldingOtherFilesOrABrokenManifestIsKept() throws IOException {
        Path in = write(tmp.resolve("in.csv"), CSV);
        Path out = tmp.resolve("out");
        run(options(in, out).build());

        Path notes = write(out.resolve("train/notes.txt"), "mine");
        String e = refused(options(in, out).overwrite(true).build());
        assertTrue(e.contains(notes + " is not listed in ") && e.contains("prepare did not write it"), e);
        assertEquals("mine", Files.readString(notes));
        Files.delete(notes);

        Path manifest = out.resolve(Manifest.FILE_NAME);
        Files.writeString(manifest, "{ not json");
        e = refused(options(in, out).overwrite(true).build());
        assertTrue(e.contains("invalid manifest") && e.contains("refusing to replace"), e);
        assertEquals("{ not json", Files.readString(manifest));
    }

    /** The bug this guards against: {@code --out} naming the input's own directory deleted the input. */
    @Test
    void anOutputThatHoldsAnInputIsRefused() throws IOException {
        Path dir = tmp.resolve("data");
        Path in = write(dir.resolve("in.csv"), CSV);
        String e = refused(options(in, dir).overwrite(true).build());
        assertTrue(e.contains("out: ") && e.contains(dir + " holds the input ") && e.contains(in.toString()), e);
        assertEquals(CSV, Files.readString(in));

        // Also a validation or test source, named by a relative path.
        Path out = tmp.resolve("out");
        run(options(in, out).build());
        Path valid = write(out.resolve("valid/dev.csv"), CSV);
        Path relative = Path.of("").toAbsolutePath().relativize(valid);
        e = refused(options(in, out).validInput(relative.toString()).overwrite(true).build());
        assertTrue(e.contains(out + " holds the input ") && e.contains(valid.toString()), e);
        assertEquals(CSV, Files.readString(valid));
    }

    /**
     * Tests run as root, which writes through permission bits, so unwritable places are ones no
     * user can create a directory in: under a regular file, and in /proc. The input is broken, so
     * an error about it (the old behaviour) would mean the output was not checked first.
     */
    @Test
    void anUnwritableOutputFailsBeforeAnyInputIsRead() throws IOException {
        Path in = write(tmp.resolve("broken.csv"), "mr,text\nx,y\n");
        Path file = write(tmp.resolve("file.txt"), "mine");
        String e = refused(options(in, file.resolve("out")).build());
        assertTrue(e.startsWith("out: cannot create the staging directory .out.incomplete-")
                && e.contains(" in file:" + file + ": "), e);
        assertEquals("mine", Files.readString(file));

        assumeTrue(Files.isDirectory(Path.of("/proc/self")), "no /proc");
        e = refused(options(in, Path.of("/proc/splitlora-out")).build());
        assertTrue(e.startsWith("out: cannot create the staging directory .splitlora-out.incomplete-")
                && e.endsWith(" in file:/proc (not writable?)"), e);
        assertFalse(Files.exists(Path.of("/proc/splitlora-out")));
    }
}
