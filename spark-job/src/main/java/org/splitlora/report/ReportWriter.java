package org.splitlora.report;

import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.splitlora.federation.RoundListener;
import org.splitlora.federation.RoundResult;
import org.splitlora.report.html.ReportPage;
import org.splitlora.store.RunStore;
import org.splitlora.util.KillPoint;

/**
 * Writes {@code report.html}: after every round of a run (from what the run directory holds by
 * then, so it runs after the metrics listener), or for several runs side by side. The page is
 * replaced whole, so a browser never reads half of it. The report is an artefact: when it cannot
 * be written during training (say, {@code eval --run} left a bad line in evals.jsonl), the run
 * logs why and goes on.
 */
public final class ReportWriter implements RoundListener {

    public static final String FILE = "report.html";
    private static final Logger LOG = LoggerFactory.getLogger(ReportWriter.class);
    private final RunStore run;

    public ReportWriter(RunStore run) {
        this.run = run;
    }

    @Override
    public void onRound(RoundResult r) {
        try {
            write(run);
            KillPoint.reach("report.written");
        } catch (RuntimeException e) {
            LOG.warn("{} not updated after round {}: {}", run.path(FILE), r.round() + 1, e.getMessage());
        }
    }

    /** Rewrites the report of one run, {@code RUN_DIR/report.html}. */
    public static void write(RunStore run) {
        run.writeText(FILE, ReportPage.render(List.of(RunRecords.read(run))));
    }

    /**
     * Renders the runs in {@code runs} (in that order) into the file {@code out} (any Hadoop path).
     * An existing file is replaced only if it is a report this tool wrote, or when {@code force}.
     */
    public static void write(List<RunStore> runs, String out, Configuration conf, boolean force) {
        String html = ReportPage.render(runs.stream().map(RunRecords::read).toList());
        Path file = new Path(out);
        if (file.getParent() == null) {
            throw new IllegalArgumentException("--out " + out + ": not a file path");
        }
        RunStore folder = RunStore.at(file.getParent().toString(), conf);
        if (folder.isDirectory(file.getName())) {
            throw new IllegalArgumentException("--out " + out + ": is a directory");
        }
        if (!force) {
            folder.readHead(file.getName(), 1 << 16).filter(existing -> !ReportPage.isReport(existing)).ifPresent(existing -> {
                throw new IllegalArgumentException("--out " + out + ": exists and is not a report written by splitlora;"
                        + " choose another file or pass --force to replace it");
            });
        }
        folder.writeText(file.getName(), html);
    }
}
