package ai.janus.demo;

import java.util.List;
import java.util.Locale;

/**
 * A line chart as an inline SVG element (no scripts, no external files), for the HTML report:
 * one or more series over a shared x axis, axes with rounded ticks, a legend. A logarithmic y axis
 * suits losses that fall over orders of magnitude; it needs positive values (others are skipped).
 */
final class SvgChart {
    static final int WIDTH = 360, HEIGHT = 220;
    private static final int LEFT = 52, RIGHT = 12, TOP = 26, BOTTOM = 36;
    private static final String[] COLORS = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"};

    /** One line: its name in the legend and its points (x ascending). */
    record Series(String name, double[] x, double[] y) {
        Series {
            if (x.length != y.length) {
                throw new IllegalArgumentException(name + ": " + x.length + " x values for " + y.length + " y values");
            }
        }
    }

    private SvgChart() {}

    static String render(String title, String xLabel, List<Series> series, boolean logY) {
        double xMin = Double.POSITIVE_INFINITY, xMax = Double.NEGATIVE_INFINITY;
        double yMin = Double.POSITIVE_INFINITY, yMax = Double.NEGATIVE_INFINITY;
        for (Series s : series) {
            for (int i = 0; i < s.x().length; i++) {
                if (usable(s.y()[i], logY)) {
                    xMin = Math.min(xMin, s.x()[i]);
                    xMax = Math.max(xMax, s.x()[i]);
                    double y = logY ? Math.log10(s.y()[i]) : s.y()[i];
                    yMin = Math.min(yMin, y);
                    yMax = Math.max(yMax, y);
                }
            }
        }
        StringBuilder svg = new StringBuilder();
        svg.append(String.format(Locale.ROOT, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
                + "viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"%s\">", WIDTH, HEIGHT, WIDTH, HEIGHT, escape(title)));
        svg.append("<rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>");
        svg.append(text(WIDTH / 2.0, 16, title, "middle", 13, "bold"));
        if (xMin > xMax) {
            return svg.append(text(WIDTH / 2.0, HEIGHT / 2.0, "no data", "middle", 12, "normal")).append("</svg>").toString();
        }
        if (xMax == xMin) {
            xMax = xMin + 1;
        }
        if (yMax == yMin) {
            yMin -= 0.5;
            yMax += 0.5;
        }
        double pad = (yMax - yMin) * 0.05;
        yMin -= pad;
        yMax += pad;
        double plotW = WIDTH - LEFT - RIGHT, plotH = HEIGHT - TOP - BOTTOM;
        svg.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"%.0f\" height=\"%.0f\" fill=\"none\" "
                + "stroke=\"#999\"/>", LEFT, TOP, plotW, plotH));
        for (double t : ticks(yMin, yMax, logY)) {
            double py = TOP + plotH * (1 - (t - yMin) / (yMax - yMin));
            svg.append(String.format(Locale.ROOT, "<line x1=\"%d\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#eee\"/>",
                    LEFT, LEFT + plotW, py, py));
            svg.append(text(LEFT - 4, py + 4, label(logY ? Math.pow(10, t) : t), "end", 10, "normal"));
        }
        for (double t : ticks(xMin, xMax, false)) {
            double px = LEFT + plotW * (t - xMin) / (xMax - xMin);
            svg.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%.1f\" stroke=\"#999\"/>",
                    px, px, TOP + (int) plotH, TOP + plotH + 4));
            svg.append(text(px, TOP + plotH + 15, label(t), "middle", 10, "normal"));
        }
        svg.append(text(LEFT + plotW / 2, HEIGHT - 4, xLabel + (logY ? " (log y)" : ""), "middle", 10, "normal"));
        for (int k = 0; k < series.size(); k++) {
            Series s = series.get(k);
            String color = COLORS[k % COLORS.length];
            StringBuilder points = new StringBuilder();
            for (int i = 0; i < s.x().length; i++) {
                if (usable(s.y()[i], logY)) {
                    double y = logY ? Math.log10(s.y()[i]) : s.y()[i];
                    points.append(String.format(Locale.ROOT, "%.1f,%.1f ", LEFT + plotW * (s.x()[i] - xMin) / (xMax - xMin),
                            TOP + plotH * (1 - (y - yMin) / (yMax - yMin))));
                }
            }
            svg.append("<polyline fill=\"none\" stroke=\"").append(color).append("\" stroke-width=\"1.5\" points=\"")
                    .append(points.toString().strip()).append("\"/>");
            if (series.size() > 1) {
                double ly = TOP + 12 + 13 * k;
                svg.append(String.format(Locale.ROOT, "<line x1=\"%.0f\" x2=\"%.0f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
                        + "stroke-width=\"2\"/>", LEFT + plotW - 90, LEFT + plotW - 78, ly - 4, ly - 4, color));
                svg.append(text(LEFT + plotW - 74, ly, s.name(), "start", 10, "normal"));
            }
        }
        return svg.append("</svg>").toString();
    }

    private static boolean usable(double y, boolean logY) {
        return Double.isFinite(y) && (!logY || y > 0);
    }

    /** About five round tick values in [lo, hi]; on a log axis, the integer powers of ten inside (in log units). */
    static double[] ticks(double lo, double hi, boolean log) {
        if (log && Math.floor(hi) - Math.ceil(lo) >= 1) {
            int from = (int) Math.ceil(lo), to = (int) Math.floor(hi);
            double[] t = new double[to - from + 1];
            for (int i = 0; i < t.length; i++) {
                t[i] = from + i;
            }
            return t;
        }
        double raw = (hi - lo) / 5, magnitude = Math.pow(10, Math.floor(Math.log10(raw)));
        double step = magnitude * (raw / magnitude < 1.5 ? 1 : raw / magnitude < 3 ? 2 : raw / magnitude < 7 ? 5 : 10);
        int first = (int) Math.ceil(lo / step), last = (int) Math.floor(hi / step);
        double[] t = new double[Math.max(0, last - first + 1)];
        for (int i = 0; i < t.length; i++) {
            t[i] = (first + i) * step;
        }
        return t;
    }

    private static String label(double v) {
        double a = Math.abs(v);
        if (a != 0 && (a < 1e-3 || a >= 1e5)) {
            return String.format(Locale.ROOT, "%.0e", v);
        }
        String s = String.format(Locale.ROOT, "%.4f", v).replaceAll("0+$", "").replaceAll("\\.$", "");
        return s.equals("-0") ? "0" : s;
    }

    private static String text(double x, double y, String s, String anchor, int size, String weight) {
        return String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" font-size=\"%d\" "
                + "font-weight=\"%s\" font-family=\"sans-serif\">%s</text>", x, y, anchor, size, weight, escape(s));
    }

    static String escape(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
