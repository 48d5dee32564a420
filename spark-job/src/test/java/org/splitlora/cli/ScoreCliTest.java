package org.splitlora.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.Gson;
import com.google.gson.reflect.TypeToken;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.splitlora.testutil.Fixtures;

/** {@code splitlora score} on the official scorer's example inputs and on E2E CSV files. */
class ScoreCliTest {

    /** The official scorer's example inputs (a method, so that the untagged tests load without fixtures). */
    private static Path example(String file) {
        return Fixtures.file("e2e-metrics/" + file);
    }

    private static Map<String, Double> json(CliRun r) {
        assertEquals(0, r.code(), r.err());
        return new Gson().fromJson(r.out(), new TypeToken<Map<String, Double>>() {}.getType());
    }

    @Tag("fixtures")
    @Test
    void jsonOnTheOfficialExampleInputs() {
        Map<String, Double> s = json(CliRun.of("score", "--refs", example("devel-conc.txt").toString(),
                "--hyps", example("baseline-output.txt").toString(), "--json"));
        assertEquals(List.of("BLEU", "NIST", "METEOR", "ROUGE_L", "CIDEr"), List.copyOf(s.keySet()));
        // what measure_scores.py prints for these files
        assertEquals(0.7203, s.get("BLEU"), 1e-4);
        assertEquals(7.8212, s.get("NIST"), 1e-4);
        assertEquals(0.7910, s.get("ROUGE_L"), 1e-4);
        assertEquals(2.3039, s.get("CIDEr"), 1e-4);
        assertTrue(s.get("METEOR") > 0.3 && s.get("METEOR") < 0.6, "METEOR " + s.get("METEOR"));
    }

    @Tag("fixtures")
    @Test
    void csvReferencesAndOutputsMatchedByMr(@TempDir Path dir) throws Exception {
        // the fixture's references are the first 10 MR groups of devset.csv; outputs in reverse MR order
        List<String> refLines = Files.readAllLines(example("devel-conc.txt"));
        List<String> hyps = Files.readAllLines(example("baseline-output.txt"));
        List<String> devRows = Files.readAllLines(Fixtures.file("e2e/devset.csv"), StandardCharsets.UTF_8)
                .subList(0, 138);
        Path refsCsv = dir.resolve("refs.csv");
        Files.write(refsCsv, devRows, StandardCharsets.UTF_8);
        List<String> mrs = new java.util.ArrayList<>();
        for (String row : devRows.subList(1, devRows.size())) {
            String mr = row.substring(1, row.indexOf("\","));
            if (!mrs.contains(mr)) {
                mrs.add(mr);
            }
        }
        assertEquals(10, mrs.size());
        StringBuilder out = new StringBuilder("mr,output\n");
        for (int i = mrs.size() - 1; i >= 0; i--) {
            out.append('"').append(mrs.get(i)).append("\",\"").append(hyps.get(i)).append("\"\n");
        }
        Path hypsCsv = dir.resolve("outputs.csv");
        Files.writeString(hypsCsv, out.toString());
        Map<String, Double> fromCsv = json(CliRun.of("score", "--refs", refsCsv.toString(), "--hyps", hypsCsv.toString(), "--json"));
        Map<String, Double> fromText = json(CliRun.of("score", "--refs", example("devel-conc.txt").toString(),
                "--hyps", example("baseline-output.txt").toString(), "--json"));
        assertEquals(fromText, fromCsv);
        assertEquals(146, refLines.size());
    }

    @Tag("fixtures")
    @Test
    void mismatchedCountsNameBothFiles(@TempDir Path dir) throws Exception {
        Path hyps = Files.writeString(dir.resolve("short.txt"), "one output\n");
        CliRun r = CliRun.of("score", "--refs", example("devel-conc.txt").toString(), "--hyps", hyps.toString());
        assertEquals(1, r.code());
        assertTrue(r.err().contains("short.txt has 1 outputs") && r.err().contains("devel-conc.txt has 10 reference groups"), r.err());
    }

    @Test
    void csvWithoutItsColumnIsNamed(@TempDir Path dir) throws Exception {
        Path refs = Files.writeString(dir.resolve("refs.csv"), "meaning,text\na,b\n");
        CliRun r = CliRun.of("score", "--refs", refs.toString(), "--hyps", refs.toString());
        assertEquals(1, r.code());
        assertTrue(r.err().contains("refs.csv: no 'mr' column"), r.err());
    }
}
