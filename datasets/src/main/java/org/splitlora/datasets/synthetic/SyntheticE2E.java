package org.splitlora.datasets.synthetic;

import java.io.IOException;
import java.io.Writer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.apache.commons.csv.CSVFormat;
import org.apache.commons.csv.CSVPrinter;
import org.splitlora.datasets.format.PromptCompletionFormat;

/**
 * Seeded E2E-style restaurant data: meaning representations over the E2E attribute schema and a
 * reference sentence realised from templates. Used by the offline demo and by tests.
 */
public final class SyntheticE2E {

    /** One (meaning representation, reference text) pair, like a row of the E2E CSV. */
    public record Pair(String mr, String ref, Map<String, String> attributes) implements PromptCompletionFormat.E2EPair {}

    private static final String[] NAMES = {
        "The Vaults", "Alimentum", "Aromi", "The Eagle", "Blue Spice", "The Mill", "Zizzi",
        "Loch Fyne", "The Punter", "Cotto", "Fitzbillies", "Giraffe", "Wildwood", "Strada",
        "The Phoenix", "Browns Cambridge", "Clowns", "The Wrestlers", "Midsummer House", "Bibimbap House"
    };
    private static final String[] NEAR = {
        "Café Adriatic", "Burger King", "The Bakers", "Raja Indian Cuisine", "Express by Holiday Inn",
        "Café Rouge", "All Bar One", "Crowne Plaza Hotel", "The Portland Arms", "Ranch"
    };
    private static final String[] EAT_TYPE = {"coffee shop", "pub", "restaurant"};
    private static final String[] FOOD = {"Chinese", "English", "Fast food", "French", "Indian", "Italian", "Japanese"};
    private static final String[] PRICE = {"cheap", "high", "less than £20", "moderate", "more than £30", "£20-25"};
    private static final String[] RATING = {"1 out of 5", "3 out of 5", "5 out of 5", "average", "high", "low"};
    private static final String[] AREA = {"city centre", "riverside"};

    private SyntheticE2E() {}

    public static List<Pair> generate(int count, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        List<Pair> out = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            out.add(one(rng));
        }
        return out;
    }

    private static Pair one(SplittableRandom rng) {
        Map<String, String> a = new LinkedHashMap<>();
        a.put("name", pick(rng, NAMES));
        if (rng.nextInt(10) < 8) a.put("eatType", pick(rng, EAT_TYPE));
        if (rng.nextInt(10) < 7) a.put("food", pick(rng, FOOD));
        if (rng.nextInt(10) < 6) a.put("priceRange", pick(rng, PRICE));
        if (rng.nextInt(10) < 6) a.put("customer rating", pick(rng, RATING));
        if (rng.nextInt(10) < 7) a.put("area", pick(rng, AREA));
        if (rng.nextInt(10) < 6) a.put("familyFriendly", rng.nextBoolean() ? "yes" : "no");
        if (rng.nextInt(10) < 5) a.put("near", pick(rng, NEAR));
        StringBuilder mr = new StringBuilder();
        for (Map.Entry<String, String> e : a.entrySet()) {
            if (mr.length() > 0) mr.append(", ");
            mr.append(e.getKey()).append('[').append(e.getValue()).append(']');
        }
        return new Pair(mr.toString(), realise(a, rng), a);
    }

    private static String realise(Map<String, String> a, SplittableRandom rng) {
        String type = a.getOrDefault("eatType", "place");
        StringBuilder s = new StringBuilder(a.get("name"));
        s.append(rng.nextBoolean() ? " is a " : " is an establishment, a ");
        if (a.containsKey("priceRange")) s.append(priceWords(a.get("priceRange"))).append(' ');
        if (a.containsKey("food")) s.append(a.get("food")).append(' ');
        s.append(type);
        if (a.containsKey("area")) s.append(" in the ").append(a.get("area"));
        if (a.containsKey("near")) s.append(" near ").append(a.get("near"));
        s.append('.');
        if (a.containsKey("customer rating")) {
            s.append(" It has a customer rating of ").append(a.get("customer rating")).append('.');
        }
        if (a.containsKey("familyFriendly")) {
            s.append("yes".equals(a.get("familyFriendly"))
                    ? " It is family friendly."
                    : " It is not family friendly.");
        }
        return s.toString();
    }

    private static String priceWords(String price) {
        return switch (price) {
            case "cheap", "high", "moderate" -> price + "-priced";
            default -> price;
        };
    }

    private static String pick(SplittableRandom rng, String[] values) {
        return values[rng.nextInt(values.length)];
    }

    /** Writes pairs as an E2E NLG CSV ({@code mr,ref} header, RFC 4180 quoting), what {@code prepare} reads. */
    public static void writeCsv(Writer out, List<Pair> pairs) throws IOException {
        try (CSVPrinter csv = new CSVPrinter(out, CSVFormat.RFC4180.builder().setHeader("mr", "ref").get())) {
            for (Pair p : pairs) {
                csv.printRecord(p.mr(), p.ref());
            }
        }
    }
}
