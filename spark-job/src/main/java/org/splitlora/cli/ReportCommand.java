package org.splitlora.cli;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import org.splitlora.report.ReportWriter;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(name = "report", mixinStandardHelpOptions = true,
        description = {"Writes the HTML report (inline SVG, no network) of one run directory, or of several side by side:",
                "loss and validation perplexity, wall time and MB sent per round, per-client step time, SplitFT cut",
                "layers, final metrics, evaluations (evals.jsonl) and the demo's before/after generation.",
                "Training writes RUN_DIR/report.html after every round; this regenerates it."})
final class ReportCommand implements Callable<Integer> {

    @Parameters(arity = "1..*", paramLabel = "RUN_DIR", description = "Run directories (with run.json and metrics.jsonl).")
    List<Path> runs;

    @Option(names = "--out", paramLabel = "FILE",
            description = "The HTML file (default: RUN_DIR/report.html for one run; required for several).")
    Path out;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        if (out == null && runs.size() > 1) {
            throw new IllegalArgumentException("--out is required when comparing " + runs.size() + " runs");
        }
        Path file = out != null ? out : runs.get(0).resolve(ReportWriter.FILE);
        ReportWriter.write(runs, file);
        spec.commandLine().getOut().println("wrote " + file.toAbsolutePath());
        return 0;
    }
}
