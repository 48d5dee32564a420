package org.splitlora.report;

import java.io.PrintStream;
import java.util.Locale;
import org.splitlora.federation.RoundListener;
import org.splitlora.federation.RoundResult;
import org.splitlora.report.progress.Progress;
import org.splitlora.splitft.CutDecision;

/**
 * One line per round: round, losses, clients (and their cuts in splitft), tokens/s, MB exchanged
 * (activations and adapters), ETA; on a terminal, a bar of the rounds under those lines.
 */
public final class RoundProgress implements RoundListener, AutoCloseable {

    private final Progress progress;
    private boolean sized;

    public RoundProgress(PrintStream out) {
        this.progress = Progress.withOwnLines(out, "rounds", 0);
    }

    @Override
    public void onRound(RoundResult r) {
        if (!sized) {
            progress.addTotal(r.rounds());
            sized = true;
        }
        int done = r.round() + 1;
        long eta = Math.round(r.elapsedSeconds() / done * (r.rounds() - done));
        progress.log(String.format(Locale.ROOT, "round %d/%d  loss %.4f%s  clients %d%s  %.0f tok/s  %.2f MB sent  ETA %d:%02d",
                done, r.rounds(), r.trainLoss(), r.evaluated() ? String.format(Locale.ROOT, "  val %.4f", r.valLoss()) : "",
                r.clients().size(), cuts(r), r.tokensPerSecond(),
                (r.bytesUp() + r.bytesDown() + r.loraBytesUp() + r.loraBytesDown()) / 1e6, eta / 60, eta % 60));
        progress.set(done);
    }

    @Override
    public void close() {
        progress.close();
    }

    /** In splitft, the clients' cuts of the round and, where the policy moved one, its next cut. */
    private static String cuts(RoundResult r) {
        if (r.cutDecisions().isEmpty()) {
            return "";
        }
        StringBuilder b = new StringBuilder("  cuts");
        for (CutDecision d : r.cutDecisions()) {
            b.append(' ').append(d.from());
            if (d.to() != d.from()) {
                b.append("->").append(d.to());
            }
        }
        return b.toString();
    }
}
