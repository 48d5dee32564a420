package org.splitlora.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

/** The README's first command, shortened: synthetic data → prepare → SFL on Spark → PEFT adapter → report. */
class DemoTest {

    @TempDir
    Path tmp;

    @Test
    void demoTrainsSplitLoraEndToEndAndTheReportShowsTheImprovement() throws Exception {
        Path out = tmp.resolve("demo");
        CliRun r = CliRun.of("demo", "--out", out.toString(), "--examples", "120", "--set", "train.rounds=2",
                "--set", "train.localSteps=4");
        assertEquals(0, r.code(), r.err());
        JsonObject summary = JsonParser.parseString(Files.readString(out.resolve("summary.json"))).getAsJsonObject();
        double before = summary.get("val_loss_before").getAsDouble();
        double after = summary.get("val_loss_after").getAsDouble();
        assertTrue(after < before - 0.1, "validation loss " + before + " -> " + after);
        JsonObject run = JsonParser.parseString(Files.readString(out.resolve("run.json"))).getAsJsonObject();
        assertEquals("sfl", run.get("mode").getAsString());
        assertEquals(3, run.getAsJsonObject("data").get("clients").getAsInt());
        List<String> metrics = Files.readAllLines(out.resolve("metrics.jsonl"));
        assertEquals(2, metrics.size());
        JsonObject last = JsonParser.parseString(metrics.get(1)).getAsJsonObject();
        assertEquals(after, last.get("val_loss").getAsDouble(), 1e-4, "the exported adapter is the trained model");
        assertTrue(last.get("bytes_up").getAsLong() > 0);
        assertTrue(Files.isRegularFile(out.resolve("adapter/adapter_model.safetensors")));
        assertTrue(Files.isRegularFile(out.resolve(org.splitlora.federation.Checkpoint.directory(2)).resolve("state.json")));
        assertTrue(Files.notExists(out.resolve("run.lock")), "the run released its lock");
        assertEquals(1, CliRun.of("demo", "--out", out.toString()).code(), "a second run into the same directory is refused");

        // the report shows the improvement: the evaluations table, as a browser would read it
        Map<String, Map<String, Double>> evals = evaluationTable(out.resolve("report.html"));
        Map<String, Double> base = evals.get("base model, before training");
        Map<String, Double> trained = evals.get("after training (adapter/)");
        assertEquals(before, base.get("loss"), 1e-4);
        assertEquals(after, trained.get("loss"), 1e-4);
        assertTrue(trained.get("ppl") < base.get("ppl"), evals.toString());
        assertTrue(trained.get("BLEU") > base.get("BLEU"), "BLEU of the held-out MRs improves: " + evals);
        assertTrue(Files.readString(out.resolve("report.html")).contains("id=\"train-loss\""));
    }

    /** The report's evaluations table: label -> column -> number. */
    private static Map<String, Map<String, Double>> evaluationTable(Path html) throws Exception {
        Document doc = DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(html.toFile());
        NodeList tables = doc.getElementsByTagName("table");
        for (int t = 0; t < tables.getLength(); t++) {
            Element table = (Element) tables.item(t);
            if (!table.getAttribute("id").equals("evaluations")) {
                continue;
            }
            NodeList rows = table.getElementsByTagName("tr");
            List<String> header = cells((Element) rows.item(0), "th");
            Map<String, Map<String, Double>> out = new LinkedHashMap<>();
            for (int r = 1; r < rows.getLength(); r++) {
                List<String> cells = cells((Element) rows.item(r), "td");
                Map<String, Double> values = new LinkedHashMap<>();
                for (int c = 2; c < cells.size(); c++) {
                    if (!cells.get(c).isEmpty()) {
                        values.put(header.get(c), Double.parseDouble(cells.get(c)));
                    }
                }
                out.put(cells.get(1), values);
            }
            return out;
        }
        throw new AssertionError("no evaluations table in " + html);
    }

    private static List<String> cells(Element row, String tag) {
        List<String> out = new ArrayList<>();
        NodeList cells = row.getElementsByTagName(tag);
        for (int i = 0; i < cells.getLength(); i++) {
            out.add(cells.item(i).getTextContent().strip());
        }
        return out;
    }
}
