package org.splitlora.datasets;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Enum values as users write them in options and files: lower case with hyphens
 * ({@code LENGTH_DIRICHLET} is {@code length-dirichlet}); unknown values name the choices.
 */
public final class EnumOption {

    private EnumOption() {}

    public static String key(Enum<?> value) {
        return value.name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    /** Parses {@code text} case-insensitively, '-' or '_'; {@code what} names the option in the error. */
    public static <E extends Enum<E>> E parse(Class<E> type, String text, String what) {
        String name = text.trim().toUpperCase(Locale.ROOT).replace('-', '_');
        for (E e : type.getEnumConstants()) {
            if (e.name().equals(name)) {
                return e;
            }
        }
        List<String> keys = Arrays.stream(type.getEnumConstants()).map(EnumOption::key).toList();
        String choices = keys.size() == 1 ? keys.get(0)
                : String.join(", ", keys.subList(0, keys.size() - 1)) + " or " + keys.get(keys.size() - 1);
        throw new IllegalArgumentException("unknown " + what + " '" + text + "' (expected " + choices + ")");
    }
}
