package org.splitlora.testutil;

import java.io.IOException;
import java.nio.file.Path;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.hdfs.MiniDFSCluster;

/** A real HDFS (one NameNode, one DataNode) in this JVM, on 127.0.0.1, for run directories on {@code hdfs://}. */
public final class Hdfs implements AutoCloseable {

    private final MiniDFSCluster cluster;

    private Hdfs(MiniDFSCluster cluster) {
        this.cluster = cluster;
    }

    public static Hdfs start(Path baseDir) throws IOException {
        Configuration conf = new Configuration();
        conf.set(MiniDFSCluster.HDFS_MINIDFS_BASEDIR, baseDir.toAbsolutePath().toString());
        conf.set("dfs.namenode.rpc-bind-host", "127.0.0.1");
        conf.set("dfs.datanode.address", "127.0.0.1:0");
        conf.set("dfs.datanode.http.address", "127.0.0.1:0");
        conf.set("dfs.datanode.ipc.address", "127.0.0.1:0");
        conf.set("dfs.namenode.http-address", "127.0.0.1:0");
        return new Hdfs(new MiniDFSCluster.Builder(conf).numDataNodes(1).build());
    }

    /** {@code hdfs://127.0.0.1:PORT} + {@code path}. */
    public String uri(String path) {
        return "hdfs://127.0.0.1:" + cluster.getNameNodePort() + path;
    }

    public FileSystem fileSystem() throws IOException {
        return cluster.getFileSystem();
    }

    @Override
    public void close() {
        cluster.shutdown(true);
    }
}
