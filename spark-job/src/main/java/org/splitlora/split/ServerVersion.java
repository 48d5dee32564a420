package org.splitlora.split;

import org.splitlora.datasets.EnumOption;

/** SplitLoRA's two server designs. */
public enum ServerVersion {
    /** A server-side LoRA copy per client, trained on that client's activations only, averaged each round. */
    V1,
    /** One shared server segment trained on every client's activations (cross-client batching). */
    V2;

    public static ServerVersion parse(String text) {
        return EnumOption.parse(ServerVersion.class, text, "server version");
    }
}
