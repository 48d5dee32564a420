package org.splitlora.report;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import org.splitlora.federation.RoundListener;
import org.splitlora.federation.RoundResult;
import org.splitlora.report.html.ReportPage;

/**
 * Writes {@code report.html}: after every round of a run (from what the run directory holds by
 * then, so it runs after the metrics listener), or for several runs side by side. The page is
 * replaced atomically, so a browser never reads half of it.
 */
public final class ReportWriter implements RoundListener {

    public static final String FILE = "report.html";
    private final Path runDir;

    public ReportWriter(Path runDir) {
        this.runDir = runDir;
    }

    @Override
    public void onRound(RoundResult r) {
        write(List.of(runDir), runDir.resolve(FILE));
    }

    /** Renders the runs in {@code runDirs} (in that order) into {@code out}. */
    public static void write(List<Path> runDirs, Path out) {
        String html = ReportPage.render(runDirs.stream().map(RunRecords::read).toList());
        try {
            Path parent = out.toAbsolutePath().getParent();
            Files.createDirectories(parent);
            Path tmp = parent.resolve("." + out.getFileName() + ".tmp");
            Files.writeString(tmp, html, StandardCharsets.UTF_8);
            Files.move(tmp, out, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + out + ": " + e.getMessage(), e);
        }
    }
}
