package org.splitlora.eval.metrics;

import java.util.List;
import java.util.regex.Pattern;

/**
 * The word tokenization of NIST's mteval-v13a (its default, non-international one), which the
 * E2E scorer's BLEU and NIST use, in mteval's order: decode the four SGML entities, lower-case
 * ASCII letters (the scorer does not pass {@code -c}), pad most ASCII symbols with spaces, split
 * periods and commas except between digits, split a dash that follows a digit. Apostrophes,
 * hyphens between letters and non-ASCII characters stay inside tokens.
 */
public final class MtevalTokenizer {

    private static final Pattern SYMBOL = Pattern.compile("([{-~\\[-` -&(-+:-@/])");
    private static final Pattern PERIOD_COMMA_AFTER = Pattern.compile("([^0-9])([.,])");
    private static final Pattern PERIOD_COMMA_BEFORE = Pattern.compile("([.,])([^0-9])");
    private static final Pattern DASH_AFTER_DIGIT = Pattern.compile("([0-9])(-)");
    private static final Pattern SPACES = Pattern.compile("\\s+");

    private MtevalTokenizer() {
    }

    public static List<String> tokenize(String text) {
        String t = text.replace("<skipped>", "")
                .replace("&quot;", "\"").replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">");
        t = " " + lowerAscii(t) + " ";
        t = SYMBOL.matcher(t).replaceAll(" $1 ");
        t = PERIOD_COMMA_AFTER.matcher(t).replaceAll("$1 $2 ");
        t = PERIOD_COMMA_BEFORE.matcher(t).replaceAll(" $1 $2");
        t = DASH_AFTER_DIGIT.matcher(t).replaceAll("$1 $2 ");
        t = SPACES.matcher(t).replaceAll(" ").strip();
        return t.isEmpty() ? List.of() : List.of(t.split(" "));
    }

    private static String lowerAscii(String s) {
        char[] c = s.toCharArray();
        for (int i = 0; i < c.length; i++) {
            if (c[i] >= 'A' && c[i] <= 'Z') {
                c[i] = (char) (c[i] + ('a' - 'A'));
            }
        }
        return new String(c);
    }
}
