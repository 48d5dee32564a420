package org.splitlora.report.html;

import java.math.BigDecimal;
import java.math.MathContext;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A line chart as inline SVG: one polyline (and point markers) per series, nice axis ticks, an
 * optional log-scaled y axis, and a legend under the plot. The axis ranges (log10 of the value on
 * a log axis) and the plot's pixel frame are written as {@code data-*} attributes, so a reader (or
 * a test) can map the drawn points back to values.
 */
public final class LineChart {

    /** A named series of (x, y) points; points with a NaN y are left out. */
    public record Series(String name, List<double[]> points) {}

    static final String[] PALETTE = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2",
        "#7f7f7f", "#bcbd22", "#17becf"};
    private static final int WIDTH = 600;
    private static final int LEFT = 70;
    private static final int RIGHT = 20;
    private static final int TOP = 30;
    private static final int PLOT_HEIGHT = 200;
    private static final int BOTTOM = 42;
    private static final int LEGEND_ROW = 17;

    private final String id;
    private final String title;
    private final String xLabel;
    private final String yLabel;
    private final boolean logY;
    private final List<Series> series = new ArrayList<>();

    public LineChart(String id, String title, String xLabel, String yLabel, boolean logY) {
        this.id = id;
        this.title = title;
        this.xLabel = xLabel;
        this.yLabel = yLabel;
        this.logY = logY;
    }

    public LineChart add(Series s) {
        List<double[]> kept = new ArrayList<>();
        for (double[] p : s.points()) {
            if (Double.isFinite(p[0]) && Double.isFinite(p[1]) && (!logY || p[1] > 0)) {
                kept.add(p);
            }
        }
        series.add(new Series(s.name(), kept));
        return this;
    }

    public boolean isEmpty() {
        return series.stream().allMatch(s -> s.points().isEmpty());
    }

    public String toSvg() {
        int plotWidth = WIDTH - LEFT - RIGHT;
        int height = TOP + PLOT_HEIGHT + BOTTOM + LEGEND_ROW * series.size() + 6;
        double[] xr = range(0);
        double[] yr = range(1);
        Axis x = Axis.linear(xr[0], xr[1]);
        Axis y = logY ? Axis.log(yr[0], yr[1]) : Axis.linear(yr[0], yr[1]);
        StringBuilder b = new StringBuilder();
        b.append(String.format(Locale.ROOT, "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" id=\"%s\" width=\"%d\" "
                        + "height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"%s\" data-x-min=\"%s\" data-x-max=\"%s\" "
                        + "data-y-min=\"%s\" data-y-max=\"%s\" data-log-y=\"%s\" data-plot=\"%d %d %d %d\">%n",
                Html.escape(id), WIDTH, height, WIDTH, height, Html.escape(title), num(x.min), num(x.max), num(y.min()),
                num(y.max()), logY, LEFT, TOP, plotWidth, PLOT_HEIGHT));
        b.append("<title>").append(Html.escape(title)).append("</title>\n");
        b.append(String.format(Locale.ROOT, "<text class=\"title\" x=\"%d\" y=\"18\">%s</text>%n", LEFT, Html.escape(title)));
        b.append(String.format(Locale.ROOT, "<rect class=\"frame\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\"/>%n",
                LEFT, TOP, plotWidth, PLOT_HEIGHT));
        for (double t : x.ticks) {
            double px = LEFT + x.fraction(t) * plotWidth;
            b.append(String.format(Locale.ROOT, "<line class=\"grid\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\"/>"
                            + "<text class=\"tick\" x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>%n",
                    px, TOP, px, TOP + PLOT_HEIGHT, px, TOP + PLOT_HEIGHT + 15, label(t)));
        }
        for (double t : y.ticks) {
            double py = TOP + PLOT_HEIGHT - y.fraction(t) * PLOT_HEIGHT;
            b.append(String.format(Locale.ROOT, "<line class=\"grid\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\"/>"
                            + "<text class=\"tick\" x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>%n",
                    LEFT, py, LEFT + plotWidth, py, LEFT - 5, py + 4, label(logY ? Math.pow(10, t) : t)));
        }
        b.append(String.format(Locale.ROOT, "<text class=\"axis\" x=\"%d\" y=\"%d\" text-anchor=\"middle\">%s</text>%n",
                LEFT + plotWidth / 2, TOP + PLOT_HEIGHT + 33, Html.escape(xLabel)));
        b.append(String.format(Locale.ROOT, "<text class=\"axis\" transform=\"translate(14 %d) rotate(-90)\" "
                + "text-anchor=\"middle\">%s</text>%n", TOP + PLOT_HEIGHT / 2, Html.escape(yLabel + (logY ? " (log)" : ""))));
        if (isEmpty()) {
            b.append(String.format(Locale.ROOT, "<text class=\"empty\" x=\"%d\" y=\"%d\" text-anchor=\"middle\">no data</text>%n",
                    LEFT + plotWidth / 2, TOP + PLOT_HEIGHT / 2));
        }
        for (int i = 0; i < series.size(); i++) {
            Series s = series.get(i);
            String color = PALETTE[i % PALETTE.length];
            StringBuilder pts = new StringBuilder();
            StringBuilder marks = new StringBuilder();
            for (double[] p : s.points()) {
                double px = LEFT + x.fraction(p[0]) * plotWidth;
                double py = TOP + PLOT_HEIGHT - y.fraction(logY ? Math.log10(p[1]) : p[1]) * PLOT_HEIGHT;
                pts.append(pts.isEmpty() ? "" : " ").append(String.format(Locale.ROOT, "%.2f,%.2f", px, py));
                marks.append(String.format(Locale.ROOT, "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"2.5\" fill=\"%s\"/>", px, py, color));
            }
            b.append(String.format(Locale.ROOT, "<g class=\"series\" data-series=\"%s\"><polyline fill=\"none\" stroke=\"%s\" "
                    + "stroke-width=\"2\" points=\"%s\"/>%s</g>%n", Html.escape(s.name()), color, pts, marks));
            int ly = TOP + PLOT_HEIGHT + BOTTOM + LEGEND_ROW * i + 4;
            b.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"14\" height=\"4\" fill=\"%s\"/>"
                    + "<text class=\"legend\" x=\"%d\" y=\"%d\">%s</text>%n", LEFT, ly, color, LEFT + 20, ly + 5, Html.escape(s.name())));
        }
        return b.append("</svg>\n").toString();
    }

    private double[] range(int coordinate) {
        double lo = Double.POSITIVE_INFINITY;
        double hi = Double.NEGATIVE_INFINITY;
        for (Series s : series) {
            for (double[] p : s.points()) {
                lo = Math.min(lo, p[coordinate]);
                hi = Math.max(hi, p[coordinate]);
            }
        }
        if (lo > hi) {
            return coordinate == 1 && logY ? new double[] {1, 10} : new double[] {0, 1};
        }
        return new double[] {lo, hi};
    }

    /** An axis over [min, max] (log10 space for a log axis) with its tick positions in the same space. */
    private record Axis(double min, double max, List<Double> ticks) {

        static Axis linear(double lo, double hi) {
            if (hi - lo < 1e-12 * Math.max(1, Math.abs(hi))) {
                double pad = Math.max(Math.abs(hi) * 0.05, 0.5);
                lo -= pad;
                hi += pad;
            }
            double step = niceStep((hi - lo) / 5);
            double min = Math.floor(lo / step) * step;
            double max = Math.ceil(hi / step) * step;
            List<Double> ticks = new ArrayList<>();
            for (double t = min; t <= max + step * 1e-6; t += step) {
                ticks.add(Math.abs(t) < step * 1e-9 ? 0 : t);
            }
            return new Axis(min, max, ticks);
        }

        static Axis log(double lo, double hi) {
            double min = Math.floor(Math.log10(lo));
            double max = Math.max(min + 1, Math.ceil(Math.log10(hi)));
            List<Double> ticks = new ArrayList<>();
            for (double t = min; t <= max; t++) {
                ticks.add(t);
                if (max - min <= 2 && t < max) { // few decades: 2x and 5x ticks too
                    ticks.add(t + Math.log10(2));
                    ticks.add(t + Math.log10(5));
                }
            }
            return new Axis(min, max, ticks);
        }

        double fraction(double v) {
            return (v - min) / (max - min);
        }

        private static double niceStep(double rough) {
            double mag = Math.pow(10, Math.floor(Math.log10(rough)));
            double norm = rough / mag;
            return (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * mag;
        }
    }

    private static String num(double v) {
        return Double.toString(v);
    }

    /** A tick label: four significant digits, no trailing zeros, no exponent below 10^7. */
    private static String label(double v) {
        BigDecimal d = new BigDecimal(v).round(new MathContext(4));
        return d.abs().compareTo(BigDecimal.valueOf(10_000_000)) >= 0 ? d.stripTrailingZeros().toString()
                : d.stripTrailingZeros().toPlainString();
    }
}
