package org.splitlora.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.splitlora.cli.CliRun;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

/**
 * The report's plots carry the run's numbers: every drawn point, mapped back through the axis
 * (linear or log) the chart declares, is the value in metrics.jsonl; tables hold the final
 * metrics and evaluations; bad run directories are errors naming the file and line.
 */
class ReportPageTest {

    @TempDir
    Path tmp;

    @Test
    void plotsMapBackToTheRecordedValuesForRunsSideBySide() throws Exception {
        Path sfl = ReportFixtures.run(tmp.resolve("sfl-run"), "sfl", 6, true);
        Path splitft = ReportFixtures.run(tmp.resolve("splitft-run"), "splitft", 4, true);
        Path html = tmp.resolve("compare.html");
        CliRun r = CliRun.of("report", sfl.toString(), splitft.toString(), "--out", html.toString());
        assertEquals(0, r.code(), r.err());
        Document doc = ReportFixtures.parse(html);

        Element loss = chart(doc, "train-loss");
        List<double[]> sflLoss = points(loss, "sfl-run (sfl)");
        assertEquals(6, sflLoss.size());
        for (int i = 0; i < 6; i++) {
            assertEquals(i + 1, sflLoss.get(i)[0], 0.02);
            assertEquals(ReportFixtures.trainLoss("sfl", i + 1), sflLoss.get(i)[1], 0.01);
        }
        assertEquals(4, points(loss, "splitft-run (splitft)").size());

        List<double[]> ppl = points(chart(doc, "val-ppl"), "sfl-run (sfl)");
        assertEquals(3, ppl.size(), "evaluated every 2nd round");
        for (double[] p : ppl) {
            double expected = Math.exp(ReportFixtures.valLoss("sfl", (int) Math.round(p[0])));
            assertEquals(1, p[1] / expected, 0.01, "log axis maps back to the perplexity");
        }
        List<double[]> mb = points(chart(doc, "round-mb"), "splitft-run (splitft)");
        assertEquals(ReportFixtures.megabytes(3), mb.get(2)[1], 0.01 * ReportFixtures.megabytes(4));

        // validation loss against training time and MB so far: the sums of the rounds' values up to each evaluated one
        List<double[]> byTime = points(chart(doc, "val-loss-time"), "sfl-run (sfl)");
        List<double[]> byMb = points(chart(doc, "val-loss-mb"), "sfl-run (sfl)");
        assertEquals(3, byTime.size());
        for (int i = 0; i < 3; i++) {
            int round = 2 * (i + 1);
            double seconds = 0;
            double megabytes = 0;
            for (int k = 1; k <= round; k++) {
                seconds += ReportFixtures.trainSeconds(k);
                megabytes += ReportFixtures.megabytes(k);
            }
            assertEquals(seconds, byTime.get(i)[0], 0.01 * seconds);
            assertEquals(ReportFixtures.valLoss("sfl", round), byTime.get(i)[1], 0.01);
            assertEquals(megabytes, byMb.get(i)[0], 0.01 * megabytes);
        }
        // the target is splitft's best (round 4), which sfl first reaches at round 4 too: 1.5·4 + 1+2+3+4 seconds
        String target = ReportFixtures.byId(doc, "to-target").getParentNode().getTextContent();
        assertTrue(target.contains(String.format(Locale.ROOT, "Target: %.4f", ReportFixtures.valLoss("splitft", 4))), target);
        String sflToTarget = row(doc, "to-target", "sfl-run");
        assertTrue(sflToTarget.contains("416.0012.800"), "round 4, 16.00 s, 12.800 MB: " + sflToTarget);

        List<double[]> step = points(chart(doc, "client-step-1"), "client 2");
        assertEquals(4, step.size());
        assertEquals(ReportFixtures.clientSecondsPerStep(2, 3) * 1000, step.get(2)[1], 1.0);
        List<double[]> cuts = points(chart(doc, "cuts-1"), "client 1");
        assertEquals(ReportFixtures.cut(1, 4), cuts.get(3)[1], 0.05);
        assertNull(ReportFixtures.byId(doc, "cuts-0"), "sfl records its fixed cuts but gets no cut plot");

        String finalRow = row(doc, "final-metrics", "splitft-run");
        assertTrue(finalRow.contains(String.format(Locale.ROOT, "%.4f", ReportFixtures.trainLoss("splitft", 4))), finalRow);
        String eval = row(doc, "evaluations", "after training");
        assertTrue(eval.contains("0.4200"), "BLEU cell: " + eval);
    }

    @Test
    void aRunWithoutRoundsYetRendersEmptyChartsAndATrainingRunWritesItsReport() throws IOException {
        Path run = ReportFixtures.run(tmp.resolve("empty"), "sfl", 0, false);
        CliRun r = CliRun.of("report", run.toString());
        assertEquals(0, r.code(), r.err());
        String html = Files.readString(run.resolve("report.html"));
        assertTrue(html.contains("no data"));
    }

    @Test
    void badRunDirectoriesAreErrorsNamingTheFileAndLine() throws IOException {
        Path run = ReportFixtures.run(tmp.resolve("bad"), "sfl", 3, false);
        Files.writeString(run.resolve("metrics.jsonl"), "{\"round\": 4, \"train_loss\": oops\n", java.nio.file.StandardOpenOption.APPEND);
        CliRun r = CliRun.of("report", run.toString());
        assertEquals(1, r.code());
        assertTrue(r.err().contains("metrics.jsonl:4"), r.err());
        assertFalse(Files.exists(run.resolve("report.html")), "nothing half-written");

        CliRun notRun = CliRun.of("report", tmp.toString());
        assertEquals(1, notRun.code());
        assertTrue(notRun.err().contains("no run.json"), notRun.err());

        CliRun two = CliRun.of("report", run.toString(), run.toString());
        assertEquals(1, two.code());
        assertTrue(two.err().contains("--out"), two.err());
    }

    private static Element chart(Document doc, String id) {
        Element e = ReportFixtures.byId(doc, id);
        assertNotNull(e, "chart " + id);
        return e;
    }

    /** The points of one series, mapped from pixels back to data through the chart's declared axes. */
    static List<double[]> points(Element svg, String series) {
        String[] plot = svg.getAttribute("data-plot").split(" ");
        double left = Double.parseDouble(plot[0]);
        double top = Double.parseDouble(plot[1]);
        double width = Double.parseDouble(plot[2]);
        double height = Double.parseDouble(plot[3]);
        double xMin = Double.parseDouble(svg.getAttribute("data-x-min"));
        double xMax = Double.parseDouble(svg.getAttribute("data-x-max"));
        double yMin = Double.parseDouble(svg.getAttribute("data-y-min"));
        double yMax = Double.parseDouble(svg.getAttribute("data-y-max"));
        boolean log = Boolean.parseBoolean(svg.getAttribute("data-log-y"));
        NodeList groups = svg.getElementsByTagName("g");
        for (int i = 0; i < groups.getLength(); i++) {
            Element g = (Element) groups.item(i);
            if (!g.getAttribute("data-series").equals(series)) {
                continue;
            }
            Element line = (Element) g.getElementsByTagName("polyline").item(0);
            List<double[]> out = new ArrayList<>();
            for (String pt : line.getAttribute("points").trim().split("\\s+")) {
                if (pt.isEmpty()) {
                    continue;
                }
                String[] xy = pt.split(",");
                double x = xMin + (Double.parseDouble(xy[0]) - left) / width * (xMax - xMin);
                double y = yMin + (top + height - Double.parseDouble(xy[1])) / height * (yMax - yMin);
                out.add(new double[] {x, log ? Math.pow(10, y) : y});
            }
            return out;
        }
        throw new AssertionError("no series '" + series + "' in chart " + svg.getAttribute("id"));
    }

    private static String row(Document doc, String tableId, String containing) {
        Element table = ReportFixtures.byId(doc, tableId);
        assertNotNull(table, "table " + tableId);
        NodeList rows = table.getElementsByTagName("tr");
        for (int i = 0; i < rows.getLength(); i++) {
            String text = rows.item(i).getTextContent();
            if (text.contains(containing)) {
                return text;
            }
        }
        throw new AssertionError("no row with '" + containing + "' in " + tableId);
    }
}
