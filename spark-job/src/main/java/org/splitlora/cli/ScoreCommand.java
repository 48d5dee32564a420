package org.splitlora.cli;

import com.google.gson.GsonBuilder;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import org.splitlora.eval.metrics.E2eScorer;
import org.splitlora.eval.metrics.E2eScores;
import org.splitlora.eval.metrics.ScoringInput;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "score", mixinStandardHelpOptions = true,
        description = {"E2E NLG challenge metrics (BLEU, NIST, METEOR, ROUGE-L, CIDEr) of system outputs, as the official"
                + " e2e-metrics scorer computes them (METEOR: exact and stem matching only, see README).",
                "References: e2e-metrics text (one a line, groups separated by an empty line) or an E2E CSV (mr,ref).",
                "Outputs: one a line, in reference-group order, or a CSV (mr,output) matched by MR."})
final class ScoreCommand implements Callable<Integer> {

    @Option(names = "--refs", required = true, paramLabel = "FILE", description = "Reference file (text or .csv).")
    Path refs;

    @Option(names = "--hyps", required = true, paramLabel = "FILE", description = "System outputs (text or .csv).")
    Path hyps;

    @Option(names = "--json", description = "Print {\"BLEU\":…,\"NIST\":…,\"METEOR\":…,\"ROUGE_L\":…,\"CIDEr\":…}.")
    boolean json;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        ScoringInput in = ScoringInput.read(refs, hyps);
        E2eScores scores = E2eScorer.score(in.references(), in.hypotheses());
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            out.println(new GsonBuilder().serializeSpecialFloatingPointValues().create().toJson(scores.asMap()));
        } else {
            out.printf("%d outputs, %d references%n", in.hypotheses().size(),
                    in.references().stream().mapToInt(g -> g.size()).sum());
            for (Map.Entry<String, Double> e : scores.asMap().entrySet()) {
                out.printf("%-8s %.4f%n", e.getKey() + ":", e.getValue());
            }
        }
        out.flush();
        return 0;
    }
}
