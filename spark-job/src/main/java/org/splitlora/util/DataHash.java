package org.splitlora.util;

import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import org.splitlora.datasets.TokenizedExample;

/** SHA-256 over examples' ids, tokens and loss masks: what a checkpoint records as its data. */
public final class DataHash {

    private DataHash() {}

    public static String of(List<TokenizedExample> examples) {
        MessageDigest md;
        try {
            md = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        for (TokenizedExample e : examples) {
            ByteBuffer b = ByteBuffer.allocate(12 + 4 * e.length());
            b.putLong(e.exampleId()).putInt(e.length());
            for (int id : e.inputIds()) {
                b.putInt(id);
            }
            md.update(b.array());
            md.update(e.lossMask());
        }
        return HexFormat.of().formatHex(md.digest());
    }
}
