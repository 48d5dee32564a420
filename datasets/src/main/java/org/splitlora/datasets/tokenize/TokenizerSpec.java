package org.splitlora.datasets.tokenize;

import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * A tokenizer that can be shipped to Spark executors: the GPT-2 BPE (nothing to ship) or the
 * bytes of a {@code tokenizer.json} with the model's BOS/EOS ids. Executors build the tokenizer
 * from it with {@link #create()}, so they never need the model directory.
 */
public final class TokenizerSpec implements Serializable {

    private static final long serialVersionUID = 1L;

    private final byte[] tokenizerJson; // null: the GPT-2 BPE
    private final String name;
    private final int bosId;
    private final int eosId;

    private TokenizerSpec(byte[] tokenizerJson, String name, int bosId, int eosId) {
        this.tokenizerJson = tokenizerJson;
        this.name = name;
        this.bosId = bosId;
        this.eosId = eosId;
    }

    public static TokenizerSpec gpt2Bpe() {
        return new TokenizerSpec(null, "gpt2-bpe", Gpt2BpeTokenizer.END_OF_TEXT, Gpt2BpeTokenizer.END_OF_TEXT);
    }

    /** A {@code tokenizer.json}; BOS/EOS ids from the model config when ≥ 0, else from the file. */
    public static TokenizerSpec hfJson(Path file, int bosFromConfig, int eosFromConfig) {
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException("tokenizer file not found: " + file);
        }
        try {
            return new TokenizerSpec(Files.readAllBytes(file), file.toString(), bosFromConfig, eosFromConfig);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read tokenizer " + file + ": " + e.getMessage(), e);
        }
    }

    public TextTokenizer create() {
        return tokenizerJson == null
                ? new Gpt2BpeTokenizer()
                : HfTokenizer.fromJson(tokenizerJson, name, bosId, eosId);
    }

    public String name() {
        return name;
    }

    /** SHA-256 of what defines the tokenizer, for manifests: same hash, same token ids. */
    public String sha256() {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            md.update((tokenizerJson == null ? "gpt2-bpe/r50k_base" : "tokenizer.json").getBytes(StandardCharsets.UTF_8));
            if (tokenizerJson != null) {
                md.update(tokenizerJson);
            }
            md.update(("|bos=" + bosId + "|eos=" + eosId).getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
