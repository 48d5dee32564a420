package org.splitlora.report.progress;

import java.io.PrintStream;
import java.util.Locale;
import java.util.function.LongSupplier;

/**
 * Progress of long work (preparing, rounds, generation). On a terminal, one line redrawn in place:
 * task, bar, count, percentage, elapsed and ETA, with log lines printed above it. Elsewhere (a
 * pipe, a log file, CI) plain lines: the log lines, and a status line at every further tenth of
 * the work, so logs stay readable. The total may grow while the work runs (Spark stages are
 * submitted one after another).
 */
public final class Progress implements AutoCloseable {

    /** How progress is shown; {@link #detect()} picks one. */
    public enum Style {
        BAR, LINES, NONE;

        /**
         * {@code -Dsplitlora.progress=bar|lines|none} or {@code SPLITLORA_PROGRESS} if set, else a
         * bar when stdout is an interactive terminal and plain lines otherwise.
         */
        public static Style detect() {
            String forced = System.getProperty("splitlora.progress", System.getenv("SPLITLORA_PROGRESS"));
            if (forced != null && !forced.isBlank()) {
                try {
                    return valueOf(forced.strip().toUpperCase(Locale.ROOT));
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException("splitlora.progress: '" + forced + "' is not one of bar, lines, none");
                }
            }
            boolean terminal = System.console() != null && !"dumb".equals(System.getenv("TERM"));
            return terminal ? BAR : LINES;
        }
    }

    private static final int BAR_WIDTH = 24;
    private static final long REDRAW_NANOS = 100_000_000L;

    private final PrintStream out;
    private final Style style;
    private final String task;
    private final boolean statusLines;
    private final LongSupplier clock;
    private final long start;
    private long total;
    private long done;
    private long lastDraw = Long.MIN_VALUE;
    private int lastTenth;
    private boolean barShown;

    Progress(PrintStream out, Style style, String task, long total, boolean statusLines, LongSupplier clock) {
        this.out = out;
        this.style = style;
        this.task = task;
        this.total = total;
        this.statusLines = statusLines;
        this.clock = clock;
        this.start = clock.getAsLong();
    }

    /** Progress of {@code task} over {@code total} units, in the detected style. */
    public static Progress start(PrintStream out, String task, long total) {
        return new Progress(out, Style.detect(), task, total, true, System::nanoTime);
    }

    /**
     * As {@link #start}, for work that logs a line of its own per unit: off a terminal only those
     * lines are printed, no status lines.
     */
    public static Progress withOwnLines(PrintStream out, String task, long total) {
        return new Progress(out, Style.detect(), task, total, false, System::nanoTime);
    }

    /** For tests: a chosen style and clock (nanoseconds). */
    static Progress of(PrintStream out, Style style, String task, long total, boolean statusLines, LongSupplier clock) {
        return new Progress(out, style, task, total, statusLines, clock);
    }

    public synchronized void addTotal(long units) {
        total += units;
        if (total > 0) {
            lastTenth = (int) Math.min(10, done * 10 / total); // tenths count afresh against the larger total
        }
        update(false);
    }

    public synchronized void advance(long units) {
        done += units;
        update(false);
    }

    public synchronized void set(long units) {
        done = units;
        update(false);
    }

    /** Whether every unit of the (current) total is done. */
    public synchronized boolean complete() {
        return done >= total;
    }

    /** A line of its own: above the bar on a terminal, as it is elsewhere. */
    public synchronized void log(String line) {
        if (style == Style.BAR && barShown) {
            out.print("\r\033[2K");
        }
        if (style != Style.NONE) {
            out.println(line);
        }
        if (style == Style.BAR && barShown) {
            draw();
        }
        out.flush();
    }

    @Override
    public synchronized void close() {
        update(true);
        if (style == Style.BAR && barShown) {
            out.println();
        }
        out.flush();
    }

    private void update(boolean last) {
        long now = clock.getAsLong();
        switch (style) {
            case BAR -> {
                if (last || now - lastDraw >= REDRAW_NANOS || done >= total) {
                    lastDraw = now;
                    out.print("\r\033[2K");
                    draw();
                    barShown = true;
                    out.flush();
                }
            }
            case LINES -> {
                int tenth = total <= 0 ? 0 : (int) Math.min(10, done * 10 / total);
                if (statusLines && (tenth > lastTenth || (last && lastTenth < 10 && done > 0))) {
                    lastTenth = Math.max(tenth, last ? 10 : tenth);
                    out.println(status());
                    out.flush();
                }
            }
            case NONE -> { }
        }
    }

    private void draw() {
        int filled = total <= 0 ? 0 : (int) Math.min(BAR_WIDTH, done * BAR_WIDTH / total);
        out.print(task + " [" + "#".repeat(filled) + "-".repeat(BAR_WIDTH - filled) + "] " + counts());
    }

    private String status() {
        return task + ": " + counts();
    }

    private String counts() {
        double elapsed = (clock.getAsLong() - start) / 1e9;
        String pct = total <= 0 ? "" : String.format(Locale.ROOT, " (%d%%)", done * 100 / total);
        String eta = done <= 0 || done >= total ? "" : "  ETA " + duration(elapsed / done * (total - done));
        return done + "/" + total + pct + "  " + duration(elapsed) + eta;
    }

    static String duration(double seconds) {
        long s = Math.round(seconds);
        return s >= 3600 ? String.format(Locale.ROOT, "%dh%02dm", s / 3600, s / 60 % 60)
                : String.format(Locale.ROOT, "%d:%02d", s / 60, s % 60);
    }
}
