package org.splitlora.testutil;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.splitlora.cli.CliRun;
import org.splitlora.datasets.synthetic.SyntheticE2E;

/** A small prepared dataset without fixtures: seeded synthetic E2E rows through {@code prepare} (IID clients, 10 % held out). */
public final class SyntheticShards {

    private SyntheticShards() {}

    /** Writes {@code rows} synthetic pairs under {@code dir} and prepares them into {@code dir/data} for {@code clients} clients. */
    public static Path prepare(Path dir, int rows, long seed, int clients, String tokenizer) throws IOException {
        Path csv = dir.resolve("e2e.csv");
        try (Writer w = Files.newBufferedWriter(csv, StandardCharsets.UTF_8)) {
            SyntheticE2E.writeCsv(w, SyntheticE2E.generate(rows, seed));
        }
        Path data = dir.resolve("data");
        CliRun r = CliRun.of("prepare", "--input", csv.toString(), "--format", "e2e", "--tokenizer", tokenizer,
                "--clients", String.valueOf(clients), "--partition", "iid", "--valid-fraction", "0.1",
                "--seed", String.valueOf(seed), "--out", data.toString());
        assertEquals(0, r.code(), r.err());
        return data;
    }
}
