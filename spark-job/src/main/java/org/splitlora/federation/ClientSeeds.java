package org.splitlora.federation;

import org.splitlora.util.Seeds;

/**
 * A client's seed for its data order and dropout masks. The centralized baseline trains as
 * client 0 holding all the data, so a one-client split run and it see the same batches and masks.
 */
public final class ClientSeeds {

    private ClientSeeds() {}

    public static long of(long runSeed, int client) {
        return Seeds.derive(runSeed, 0x636c69656e74L, client);
    }
}
