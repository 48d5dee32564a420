package org.splitlora.eval.metrics;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Penn-Treebank-style word tokenization, lower-cased, as the Stanford PTBTokenizer (CoreNLP
 * 3.4.1, options {@code -preserveLines -lowerCase}) does it for the COCO caption scorer: punctuation
 * is split off words, clitics ({@code n't 's 're 've 'll 'd 'm}) become their own tokens, pound
 * signs become {@code #}, quotes become {@code ``} and {@code ''}. Hyphenated words, decimals and
 * known abbreviations stay whole. It covers the text of E2E-style outputs; a test compares it with
 * CoreNLP itself over every reference of the E2E dataset.
 */
public final class PtbTokenizer {

    private static final Pattern CLITIC = Pattern.compile("^(.*[a-z])(n't|'s|'re|'ve|'ll|'d|'m)$");
    private static final Pattern STANDALONE_CLITIC = Pattern.compile("('s|'re|'ve|'ll|'d|'m)(?![\\p{L}\\p{N}])");
    /** Abbreviations that keep their period (a subset of PTBLexer's list, enough for E2E text). */
    private static final Set<String> ABBREVIATIONS = Set.of("rd", "st", "mr", "mrs", "ms", "dr", "jr", "sr", "etc",
            "vs", "ave", "co", "inc", "ltd", "mt", "ft", "approx");

    private PtbTokenizer() {
    }

    /** The tokens of one line of text, lower-cased. */
    public static List<String> tokenize(String text) {
        String s = text.toLowerCase(Locale.ROOT);
        List<String> out = new ArrayList<>();
        int i = 0;
        int n = s.length();
        while (i < n) {
            char c = s.charAt(i);
            if (Character.isWhitespace(c)) {
                i++;
            } else if (isWordChar(c) || signsNumber(s, i)) {
                i = word(s, i, out);
            } else {
                i = punctuation(s, i, out);
            }
        }
        return out;
    }

    private static boolean isWordChar(char c) {
        return Character.isLetterOrDigit(c);
    }

    /** "-25" and ".6" are numbers when the sign or point does not follow a word. */
    private static boolean signsNumber(String s, int i) {
        char c = s.charAt(i);
        return (c == '-' || c == '.') && i + 1 < s.length() && Character.isDigit(s.charAt(i + 1))
                && (i == 0 || !isWordChar(s.charAt(i - 1)));
    }

    /** A word or number from {@code i}: word characters joined by inner hyphens, apostrophes, periods or commas. */
    private static int word(String s, int i, List<String> out) {
        int n = s.length();
        int j = i + 1;
        while (j < n) {
            char c = s.charAt(j);
            if (isWordChar(c)) {
                j++;
            } else if (j + 1 < n && isWordChar(s.charAt(j + 1)) && joins(s, c, j)) {
                j += 2;
            } else {
                break;
            }
        }
        String word = s.substring(i, j);
        if (j < n && s.charAt(j) == '.' && keepsPeriod(s, word, j)) {
            word += ".";
            j++;
        }
        Matcher m = CLITIC.matcher(word);
        if (m.matches()) {
            out.add(m.group(1));
            out.add(m.group(2));
        } else {
            out.add(word);
        }
        return j;
    }

    /** Whether the separator {@code c} at {@code j}, between word characters, stays inside the word. */
    private static boolean joins(String s, char c, int j) {
        return switch (c) {
            case '-', '\'' -> true;
            case '.', ',', '/' -> Character.isDigit(s.charAt(j - 1)) && Character.isDigit(s.charAt(j + 1));
            default -> false;
        };
    }

    private static boolean keepsPeriod(String s, String word, int period) {
        if (ABBREVIATIONS.contains(word) || (word.length() == 1 && Character.isLetter(word.charAt(0)))) {
            return true;
        }
        // "center.," keeps its period: PTBLexer reads a period before punctuation as an abbreviation's
        return period + 1 < s.length() && ",;:".indexOf(s.charAt(period + 1)) >= 0;
    }

    private static int punctuation(String s, int i, List<String> out) {
        char c = s.charAt(i);
        int n = s.length();
        switch (c) {
            case '£' -> out.add("#");
            case '"' -> out.add(opens(s, i) ? "``" : "''");
            case '\'' -> {
                Matcher clitic = STANDALONE_CLITIC.matcher(s).region(i, s.length());
                if (clitic.lookingAt()) {
                    out.add(clitic.group(1));
                    return clitic.end(1);
                }
                out.add(opens(s, i) ? "`" : "'");
            }
            case '(' -> out.add("-lrb-");
            case ')' -> out.add("-rrb-");
            case '.' -> {
                int j = i;
                while (j < n && s.charAt(j) == '.') {
                    j++;
                }
                out.add(j - i >= 3 ? "..." : ".");
                return j - i >= 3 ? j : i + 1;
            }
            case '-' -> {
                if (i + 1 < n && s.charAt(i + 1) == '-') {
                    out.add("--");
                    return i + 2;
                }
                out.add("-");
            }
            default -> out.add(String.valueOf(c));
        }
        return i + 1;
    }

    /** A quote opens when it starts the text or follows whitespace or an opening bracket. */
    private static boolean opens(String s, int i) {
        return i == 0 || Character.isWhitespace(s.charAt(i - 1)) || s.charAt(i - 1) == '(';
    }
}
