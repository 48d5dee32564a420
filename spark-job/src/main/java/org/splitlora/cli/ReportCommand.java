package org.splitlora.cli;

import java.util.List;
import java.util.concurrent.Callable;
import org.apache.hadoop.conf.Configuration;
import org.splitlora.report.ReportWriter;
import org.splitlora.store.HadoopConf;
import org.splitlora.store.RunStore;
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

    @Parameters(arity = "1..*", paramLabel = "RUN_DIR",
            description = "Run directories (with run.json and metrics.jsonl), paths or Hadoop URIs.")
    List<String> runs;

    @Option(names = "--out", paramLabel = "FILE",
            description = {"The HTML file (default: RUN_DIR/report.html for one run; required for several). An existing",
                    "file is replaced only if it is a report written by splitlora."})
    String out;

    @Option(names = "--force", description = "Replace --out even when it is not a report written by splitlora.")
    boolean force;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        if (out == null && runs.size() > 1) {
            throw new IllegalArgumentException("--out is required when comparing " + runs.size() + " runs");
        }
        Configuration conf = HadoopConf.fromSpark();
        List<RunStore> dirs = runs.stream().map(r -> RunStore.at(r, conf)).toList();
        String file;
        if (out == null) {
            ReportWriter.write(dirs.get(0));
            file = dirs.get(0).path(ReportWriter.FILE).toString();
        } else {
            ReportWriter.write(dirs, out, conf, force);
            file = out;
        }
        spec.commandLine().getOut().println("wrote " + file);
        return 0;
    }
}
