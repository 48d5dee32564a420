package org.splitlora.config;

import org.splitlora.datasets.EnumOption;

/** Which training scheme a run uses; all share one harness, data and schedule (DESIGN §1). */
public enum RunMode {
    /** CenLoRA: the whole model on all data, in the driver. */
    CENTRAL,
    /** FedLoRA: every client trains the whole model locally; FedAvg of all adapters. */
    FL,
    /** Vanilla split learning: clients take turns against one server; client LoRA relayed. */
    SL,
    /** SplitLoRA: clients in parallel against one server; FedAvg of client adapters. */
    SFL,
    /**
     * SplitFT: SFL where every client has its own cut layer, moved each round by
     * {@code splitft.policy}; adapters are aggregated per block over all of its holders.
     */
    SPLITFT;

    public static RunMode parse(String text) {
        return EnumOption.parse(RunMode.class, text, "mode");
    }

    public String key() {
        return EnumOption.key(this);
    }

    public boolean split() {
        return this == SL || this == SFL || this == SPLITFT;
    }
}
