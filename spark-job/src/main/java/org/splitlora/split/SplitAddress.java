package org.splitlora.split;

/**
 * Where the split server listens ({@code split.bind}) and the host clients dial
 * ({@code split.advertiseHost}). Unset, a local-mode run (spark.master local[...]) keeps the
 * server on loopback, since its clients are threads of the driver's JVM; on a cluster the server
 * listens on every interface and executors dial spark.driver.host.
 */
public record SplitAddress(String bind, String dial) {

    public static final String LOOPBACK = "127.0.0.1";

    public static SplitAddress of(String bind, String advertiseHost, boolean localMaster, String driverHost) {
        String listen = !bind.isBlank() ? bind : localMaster ? LOOPBACK : "0.0.0.0";
        String dial = !advertiseHost.isBlank() ? advertiseHost
                : !localMaster ? driverHost
                : wildcard(listen) ? LOOPBACK : listen;
        return new SplitAddress(listen, dial);
    }

    /** True for a bind address that means every interface. */
    public boolean allInterfaces() {
        return wildcard(bind);
    }

    private static boolean wildcard(String host) {
        return host.equals("0.0.0.0") || host.equals("::") || host.equals("[::]");
    }
}
