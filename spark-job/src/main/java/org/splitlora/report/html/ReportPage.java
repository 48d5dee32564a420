package org.splitlora.report.html;

import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.ToDoubleFunction;
import org.splitlora.report.LossCurve;
import org.splitlora.report.RunRecords;
import org.splitlora.report.RunRecords.Round;

/**
 * The self-contained HTML report of one or more runs (inline SVG and CSS, nothing fetched):
 * training loss, validation perplexity, wall time and MB sent per round with the runs side by
 * side, validation loss against training time and against MB exchanged, and the time and MB each
 * run took to reach the loss all of them reach; each run's per-client step time and (SplitFT) cut layers; a final metric table, the
 * evaluations recorded in the runs, and the demo's before/after generation.
 */
public final class ReportPage {

    /** The evaluation columns in the order the E2E scorer and {@code eval} name them; others follow. */
    private static final List<String> EVAL_COLUMNS = List.of("examples", "loss", "ppl", "mrs", "BLEU", "NIST", "METEOR",
            "ROUGE_L", "CIDEr");
    private static final String STYLE = """
            body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px;color:#222;max-width:1300px}
            h1{font-size:22px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd;padding-bottom:4px}
            table{border-collapse:collapse;font-size:13px;margin:8px 0}td,th{border:1px solid #ddd;padding:4px 8px;text-align:right}
            th{background:#f4f4f4}td.text,th.text{text-align:left}
            .charts{display:flex;flex-wrap:wrap;gap:12px}
            svg.chart{background:#fff;border:1px solid #e4e4e4}svg .frame{fill:none;stroke:#999}
            svg .grid{stroke:#eee}svg text{font-size:11px;fill:#333}svg .title{font-size:13px;font-weight:600}
            svg .axis{font-size:11px;fill:#555}svg .empty{fill:#999}
            pre{white-space:pre-wrap;background:#f7f7f7;padding:6px;margin:2px 0}
            """;

    /** Marks a page as ours, so that {@code report --out} replaces only its own pages. */
    private static final String GENERATOR = "<meta name=\"generator\" content=\"splitlora report\"/>";

    private ReportPage() {
    }

    /** Whether {@code html} is a page this class rendered (its head carries our generator tag). */
    public static boolean isReport(String html) {
        int head = html.indexOf("</head>");
        return head > 0 && html.substring(0, head).contains(GENERATOR);
    }

    public static String render(List<RunRecords> runs) {
        if (runs.isEmpty()) {
            throw new IllegalArgumentException("a report needs at least one run");
        }
        StringBuilder b = new StringBuilder();
        b.append("<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n")
                .append(GENERATOR).append('\n')
                .append("<title>").append(Html.escape(title(runs))).append("</title>\n<style>").append(STYLE)
                .append("</style>\n</head>\n<body>\n");
        b.append("<h1>").append(Html.escape(title(runs))).append("</h1>\n<p>Generated ")
                .append(Instant.now().truncatedTo(ChronoUnit.SECONDS)).append(" from ").append(runs.size())
                .append(runs.size() == 1 ? " run" : " runs").append(".</p>\n");
        runsTable(b, runs);
        b.append("<h2>Training</h2>\n<div class=\"charts\">\n");
        chart(b, overlay(runs, "train-loss", "Training loss per round", "training loss", false, Round::trainLoss));
        chart(b, overlay(runs, "val-ppl", "Validation perplexity per round", "perplexity", true, r -> Math.exp(r.valLoss())));
        chart(b, overlay(runs, "round-seconds", "Wall time per round", "seconds", false, Round::seconds));
        chart(b, overlay(runs, "round-mb", "MB sent per round (activations, gradients, adapters)", "MB", false, Round::megabytes));
        List<LossCurve> curves = runs.stream().map(LossCurve::of).toList();
        chart(b, curveChart(runs, curves, "val-loss-time", "Validation loss against training wall time", "seconds",
                LossCurve.Point::seconds));
        chart(b, curveChart(runs, curves, "val-loss-mb", "Validation loss against MB exchanged", "MB", p -> p.bytes() / 1e6));
        b.append("</div>\n");
        toTarget(b, runs, curves);
        b.append("<h2>Clients</h2>\n<div class=\"charts\">\n");
        for (int i = 0; i < runs.size(); i++) {
            RunRecords run = runs.get(i);
            String suffix = runs.size() == 1 ? "" : " - " + run.name();
            chart(b, perClient(run, "client-step-" + i, "Per-client step time" + suffix, "ms per step",
                    r -> scaled(r.clientSecondsPerStep(), 1000)));
            if (run.hasMovingCuts()) {
                chart(b, perClient(run, "cuts-" + i, "Cut layer per client (SplitFT)" + suffix, "client blocks",
                        r -> asDoubles(r.cuts())));
            }
        }
        b.append("</div>\n");
        metricTable(b, runs);
        evaluations(b, runs);
        probes(b, runs);
        return b.append("</body>\n</html>\n").toString();
    }

    private static String title(List<RunRecords> runs) {
        return runs.size() == 1 ? "SplitLoRA run " + runs.get(0).name() + " (" + runs.get(0).mode() + ")"
                : "SplitLoRA runs compared: " + String.join(", ", runs.stream().map(RunRecords::name).toList());
    }

    private static void runsTable(StringBuilder b, List<RunRecords> runs) {
        b.append("<table id=\"runs\">\n<tr><th class=\"text\">run</th><th class=\"text\">mode</th><th class=\"text\">model</th>"
                + "<th>seed</th><th class=\"text\">data hash</th><th>rounds</th></tr>\n");
        for (RunRecords r : runs) {
            b.append("<tr><td class=\"text\">").append(Html.escape(r.name())).append("</td><td class=\"text\">")
                    .append(Html.escape(r.mode())).append("</td><td class=\"text\">").append(Html.escape(r.model()))
                    .append("</td><td>").append(r.seed()).append("</td><td class=\"text\">")
                    .append(Html.escape(r.dataHash().length() > 12 ? r.dataHash().substring(0, 12) : r.dataHash()))
                    .append("</td><td>").append(r.rounds().size()).append(" / ").append(r.plannedRounds()).append("</td></tr>\n");
        }
        b.append("</table>\n");
    }

    private static LineChart overlay(List<RunRecords> runs, String id, String title, String yLabel, boolean logY,
                                     ToDoubleFunction<Round> value) {
        LineChart c = new LineChart(id, title, "round", yLabel, logY);
        for (RunRecords run : runs) {
            List<double[]> pts = new ArrayList<>();
            for (Round r : run.rounds()) {
                pts.add(new double[] {r.round(), value.applyAsDouble(r)});
            }
            c.add(new LineChart.Series(runs.size() == 1 ? run.mode() : run.name() + " (" + run.mode() + ")", pts));
        }
        return c;
    }

    private static LineChart curveChart(List<RunRecords> runs, List<LossCurve> curves, String id, String title, String xLabel,
                                        ToDoubleFunction<LossCurve.Point> x) {
        LineChart c = new LineChart(id, title, xLabel, "validation loss", false);
        for (int i = 0; i < runs.size(); i++) {
            RunRecords run = runs.get(i);
            List<double[]> pts = curves.get(i).points().stream().map(p -> new double[] {x.applyAsDouble(p), p.valLoss()}).toList();
            c.add(new LineChart.Series(runs.size() == 1 ? run.mode() : run.name() + " (" + run.mode() + ")", pts));
        }
        return c;
    }

    /**
     * Training time and bytes each run needed to first reach the lowest validation loss all of the
     * runs reach (the SplitLoRA paper's time-to-target, and its traffic).
     */
    private static void toTarget(StringBuilder b, List<RunRecords> runs, List<LossCurve> curves) {
        double target = LossCurve.commonTarget(curves);
        if (Double.isNaN(target)) {
            return;
        }
        b.append("<h2>To the target loss</h2>\n<p>Target: ").append(String.format(Locale.ROOT, "%.4f", target))
                .append(", the lowest validation loss that every run reaches; time is training time, evaluation excluded.</p>\n")
                .append("<table id=\"to-target\">\n<tr><th class=\"text\">run</th><th class=\"text\">mode</th><th>round</th>"
                        + "<th>seconds</th><th>MB exchanged</th></tr>\n");
        for (int i = 0; i < runs.size(); i++) {
            LossCurve.Point p = curves.get(i).firstReaching(target).orElseThrow();
            b.append("<tr><td class=\"text\">").append(Html.escape(runs.get(i).name())).append("</td><td class=\"text\">")
                    .append(Html.escape(runs.get(i).mode())).append("</td><td>").append(p.round()).append("</td>")
                    .append(cell(p.seconds(), "%.2f")).append(cell(p.bytes() / 1e6, "%.3f")).append("</tr>\n");
        }
        b.append("</table>\n");
    }

    private static LineChart perClient(RunRecords run, String id, String title, String yLabel,
                                       java.util.function.Function<Round, Map<Integer, Double>> values) {
        Map<Integer, List<double[]>> byClient = new TreeMap<>();
        for (Round r : run.rounds()) {
            values.apply(r).forEach((client, v) -> byClient.computeIfAbsent(client, k -> new ArrayList<>())
                    .add(new double[] {r.round(), v}));
        }
        LineChart c = new LineChart(id, title, "round", yLabel, false);
        byClient.forEach((client, pts) -> c.add(new LineChart.Series("client " + client, pts)));
        return c;
    }

    private static Map<Integer, Double> scaled(Map<Integer, Double> m, double factor) {
        Map<Integer, Double> out = new TreeMap<>();
        m.forEach((k, v) -> out.put(k, v * factor));
        return out;
    }

    private static Map<Integer, Double> asDoubles(Map<Integer, Integer> m) {
        Map<Integer, Double> out = new TreeMap<>();
        m.forEach((k, v) -> out.put(k, (double) v));
        return out;
    }

    private static void chart(StringBuilder b, LineChart c) {
        b.append(c.toSvg());
    }

    private static void metricTable(StringBuilder b, List<RunRecords> runs) {
        b.append("<h2>Final metrics</h2>\n<table id=\"final-metrics\">\n<tr><th class=\"text\">run</th><th class=\"text\">mode</th>"
                + "<th>rounds</th><th>train loss</th><th>val loss</th><th>val PPL</th><th>s / round</th><th>MB / round</th>"
                + "<th>MB total</th></tr>\n");
        for (RunRecords run : runs) {
            List<Round> rounds = run.rounds();
            double last = rounds.isEmpty() ? Double.NaN : rounds.get(rounds.size() - 1).trainLoss();
            double seconds = rounds.stream().mapToDouble(Round::seconds).average().orElse(Double.NaN);
            double mb = rounds.stream().mapToDouble(Round::megabytes).sum();
            b.append("<tr><td class=\"text\">").append(Html.escape(run.name())).append("</td><td class=\"text\">")
                    .append(Html.escape(run.mode())).append("</td><td>").append(rounds.size()).append("</td>")
                    .append(cell(last, "%.4f")).append(cell(run.finalValLoss(), "%.4f"))
                    .append(cell(Math.exp(run.finalValLoss()), "%.2f")).append(cell(seconds, "%.2f"))
                    .append(cell(rounds.isEmpty() ? Double.NaN : mb / rounds.size(), "%.3f")).append(cell(mb, "%.3f"))
                    .append("</tr>\n");
        }
        b.append("</table>\n");
    }

    private static void evaluations(StringBuilder b, List<RunRecords> runs) {
        if (runs.stream().allMatch(r -> r.evaluations().isEmpty())) {
            return;
        }
        Set<String> columns = new LinkedHashSet<>();
        for (RunRecords run : runs) {
            for (RunRecords.Evaluation e : run.evaluations()) {
                e.values().forEach((k, v) -> {
                    if (v instanceof Double) {
                        columns.add(k);
                    }
                });
            }
        }
        List<String> ordered = new ArrayList<>(EVAL_COLUMNS.stream().filter(columns::contains).toList());
        columns.stream().filter(c -> !ordered.contains(c)).forEach(ordered::add);
        b.append("<h2>Evaluations</h2>\n<table id=\"evaluations\">\n<tr><th class=\"text\">run</th><th class=\"text\">evaluation</th>");
        ordered.forEach(c -> b.append("<th>").append(Html.escape(c)).append("</th>"));
        b.append("</tr>\n");
        for (RunRecords run : runs) {
            for (RunRecords.Evaluation e : run.evaluations()) {
                b.append("<tr><td class=\"text\">").append(Html.escape(run.name())).append("</td><td class=\"text\">")
                        .append(Html.escape(e.label())).append("</td>");
                for (String c : ordered) {
                    Object v = e.values().get(c);
                    b.append(v instanceof Double d ? cell(d, d == Math.rint(d) && Math.abs(d) < 1e9 ? "%.0f" : "%.4f") : "<td></td>");
                }
                b.append("</tr>\n");
            }
        }
        b.append("</table>\n");
    }

    private static void probes(StringBuilder b, List<RunRecords> runs) {
        for (RunRecords run : runs) {
            Map<String, String> p = run.probe();
            if (p.containsKey("generation_before") && p.containsKey("generation_after")) {
                b.append("<h2>Generation before and after training").append(runs.size() == 1 ? "" : " - " + Html.escape(run.name()))
                        .append("</h2>\n<div id=\"probe\"><p>Input: <code>").append(Html.escape(p.getOrDefault("probe_mr", "")))
                        .append("</code></p>\n<p>Before:</p><pre>").append(Html.escape(p.get("generation_before").strip()))
                        .append("</pre>\n<p>After:</p><pre>").append(Html.escape(p.get("generation_after").strip()))
                        .append("</pre></div>\n");
            }
        }
    }

    private static String cell(double v, String format) {
        return "<td>" + (Double.isFinite(v) ? String.format(Locale.ROOT, format, v) : "") + "</td>";
    }
}
