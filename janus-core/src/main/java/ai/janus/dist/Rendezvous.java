package ai.janus.dist;

import java.nio.file.Path;
import java.util.Map;

/**
 * Who this process is in a job and where the ranks meet, read from the variables the launcher
 * sets. Checked in this order (the first that applies wins):
 *
 * <table>
 *   <caption>Launchers</caption>
 *   <tr><th>launcher</th><th>rank, world size, local rank</th><th>store</th></tr>
 *   <tr><td>torchrun (TORCHELASTIC_RUN_ID or LOCAL_RANK set)</td><td>RANK, WORLD_SIZE, LOCAL_RANK</td>
 *       <td>MASTER_ADDR:MASTER_PORT; with TORCHELASTIC_USE_AGENT_STORE=True the agent already serves it
 *       and every rank is a client, under the prefix /worker/attempt_TORCHELASTIC_RESTART_COUNT</td></tr>
 *   <tr><td>Kubernetes PyTorchJob (RANK without LOCAL_RANK)</td><td>RANK, WORLD_SIZE, 0</td>
 *       <td>MASTER_ADDR:MASTER_PORT (the operator sets both)</td></tr>
 *   <tr><td>Open MPI</td><td>OMPI_COMM_WORLD_RANK, _SIZE, _LOCAL_RANK</td>
 *       <td>MASTER_ADDR:MASTER_PORT (pass them with mpirun -x)</td></tr>
 *   <tr><td>Kubernetes Indexed Job</td><td>JOB_COMPLETION_INDEX, WORLD_SIZE (set it to the
 *       completions), 0</td><td>MASTER_ADDR (the index-0 pod, e.g. JOB-0.SERVICE):MASTER_PORT</td></tr>
 *   <tr><td>Slurm (srun)</td><td>SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID</td>
 *       <td>MASTER_ADDR, else the first host of SLURM_STEP_NODELIST / SLURM_JOB_NODELIST;
 *       MASTER_PORT, else 20000 + SLURM_JOB_ID mod 10000</td></tr>
 *   <tr><td>none of these</td><td>0, 1, 0</td><td>none (local training)</td></tr>
 * </table>
 *
 * JANUS_STORE_FILE=PATH replaces the TCPStore by a c10d FileStore at PATH (a file system every
 * rank sees; a fresh file per job). GLOO_SOCKET_IFNAME names the network interface Gloo uses.
 * Without it Gloo binds to 127.0.0.1 when MASTER_ADDR is loopback or unset, else to this host's name.
 *
 * @param serveStore  whether this process starts the TCPStore server (rank 0, unless torchrun's agent serves it)
 * @param storePrefix the prefix of janus' keys in the store
 * @param storeFile   the FileStore, or null for the TCPStore at masterAddr:masterPort
 */
public record Rendezvous(Launcher launcher, int rank, int worldSize, int localRank, String masterAddr, int masterPort,
                         boolean serveStore, String storePrefix, Path storeFile, String glooInterface) {
    /** What started this process. */
    public enum Launcher { LOCAL, TORCHRUN, KUBERNETES_PYTORCHJOB, OPEN_MPI, KUBERNETES_INDEXED_JOB, SLURM }

    /** janus' keys live under this prefix (after torchrun's attempt prefix when it serves the store). */
    public static final String PREFIX = "janus/";

    public Rendezvous {
        if (worldSize < 1) {
            throw new IllegalArgumentException("the world size must be >= 1, got " + worldSize);
        }
        if (rank < 0 || rank >= worldSize) {
            throw new IllegalArgumentException("rank " + rank + " is outside [0, " + worldSize + ") (" + launcher + ")");
        }
        if (localRank < 0) {
            throw new IllegalArgumentException("the local rank must be >= 0, got " + localRank);
        }
    }

    /** One process, no store: what runs when no launcher is found. */
    public static Rendezvous local() {
        return new Rendezvous(Launcher.LOCAL, 0, 1, 0, null, 0, false, PREFIX, null, null);
    }

    /** From this process's environment. */
    public static Rendezvous fromEnvironment() {
        return fromEnvironment(System.getenv());
    }

    /** From {@code env}; an incomplete or inconsistent set is one line naming the variable. */
    public static Rendezvous fromEnvironment(Map<String, String> env) {
        Variables v = new Variables(env);
        if (v.has("RANK")) {
            boolean torchrun = v.has("TORCHELASTIC_RUN_ID") || v.has("LOCAL_RANK");
            boolean agent = "True".equals(env.get("TORCHELASTIC_USE_AGENT_STORE"));
            int rank = v.integer("RANK"), worldSize = v.integer("WORLD_SIZE");
            String prefix = agent ? "/worker/attempt_" + v.integer("TORCHELASTIC_RESTART_COUNT", 0) + "/" + PREFIX : PREFIX;
            return v.withStore(torchrun ? Launcher.TORCHRUN : Launcher.KUBERNETES_PYTORCHJOB, rank, worldSize,
                    torchrun ? v.integer("LOCAL_RANK", 0) : 0, v.text("MASTER_ADDR", null), v.port("MASTER_PORT", -1),
                    rank == 0 && !agent, prefix);
        }
        if (v.has("OMPI_COMM_WORLD_RANK")) {
            return v.withStore(Launcher.OPEN_MPI, v.integer("OMPI_COMM_WORLD_RANK"), v.integer("OMPI_COMM_WORLD_SIZE"),
                    v.integer("OMPI_COMM_WORLD_LOCAL_RANK", 0), v.text("MASTER_ADDR", null), v.port("MASTER_PORT", -1),
                    v.integer("OMPI_COMM_WORLD_RANK") == 0, PREFIX);
        }
        if (v.has("JOB_COMPLETION_INDEX")) {
            if (!v.has("WORLD_SIZE")) {
                throw new IllegalArgumentException("a Kubernetes Indexed Job sets JOB_COMPLETION_INDEX only: set "
                        + "WORLD_SIZE to the Job's completions (and MASTER_ADDR to the index-0 pod's host)");
            }
            int rank = v.integer("JOB_COMPLETION_INDEX");
            return v.withStore(Launcher.KUBERNETES_INDEXED_JOB, rank, v.integer("WORLD_SIZE"), 0,
                    v.text("MASTER_ADDR", null), v.port("MASTER_PORT", -1), rank == 0, PREFIX);
        }
        if (v.has("SLURM_PROCID")) {
            int rank = v.integer("SLURM_PROCID");
            String nodes = v.text("SLURM_STEP_NODELIST", v.text("SLURM_JOB_NODELIST", v.text("SLURM_NODELIST", null)));
            String master = v.text("MASTER_ADDR", nodes == null ? null : firstHost(nodes));
            int port = v.has("MASTER_PORT") ? v.port("MASTER_PORT", -1)
                    : v.has("SLURM_JOB_ID") ? 20000 + (int) (v.longInteger("SLURM_JOB_ID") % 10000) : -1;
            return v.withStore(Launcher.SLURM, rank, v.integer(v.has("SLURM_NTASKS") ? "SLURM_NTASKS" : "SLURM_NPROCS"),
                    v.integer("SLURM_LOCALID", 0), master, port, rank == 0, PREFIX);
        }
        return local();
    }

    /**
     * The first host of a Slurm hostlist: "node[07-09,12],gpu3" → "node07",
     * "rack[1-2]-n[01-04]" → "rack1-n01", "a,b" → "a".
     */
    public static String firstHost(String hostlist) {
        StringBuilder host = new StringBuilder();
        int depth = 0;
        boolean inRange = false;
        for (int i = 0; i < hostlist.length(); i++) {
            char c = hostlist.charAt(i);
            if (c == '[') {
                depth++;
                inRange = true;
            } else if (c == ']') {
                depth--;
                inRange = false;
            } else if (depth == 0 && c == ',') {
                break;
            } else if (inRange) {
                if (c == ',' || c == '-') {
                    inRange = false; // the first number of the bracket is the first host's
                } else {
                    host.append(c);
                }
            } else if (depth == 0) {
                host.append(c);
            }
        }
        if (depth != 0 || host.length() == 0) {
            throw new IllegalArgumentException("cannot read the Slurm hostlist '" + hostlist + "'");
        }
        return host.toString();
    }

    /** Where Gloo binds: 127.0.0.1 when MASTER_ADDR is loopback or unset (one machine), else this host's name. */
    public String glooHost() {
        return masterAddr == null || isLoopback(masterAddr) ? "127.0.0.1" : hostName();
    }

    static boolean isLoopback(String host) {
        return host.equals("localhost") || host.startsWith("127.") || host.equals("::1");
    }

    private static String hostName() {
        try {
            return java.net.InetAddress.getLocalHost().getHostName();
        } catch (java.net.UnknownHostException e) {
            throw new DistributedException("cannot find this host's name for Gloo (set GLOO_SOCKET_IFNAME): "
                    + e.getMessage(), e);
        }
    }

    /** Typed reads of the environment with one-line errors naming the variable. */
    private record Variables(Map<String, String> env) {
        boolean has(String name) {
            String s = env.get(name);
            return s != null && !s.isBlank();
        }

        String text(String name, String absent) {
            return has(name) ? env.get(name).strip() : absent;
        }

        long longInteger(String name) {
            String s = text(name, null);
            if (s == null) {
                throw new IllegalArgumentException("the environment variable " + name + " is not set");
            }
            try {
                return Long.parseLong(s);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(name + "='" + s + "' is not an integer");
            }
        }

        int integer(String name) {
            long value = longInteger(name);
            if (value < 0 || value > Integer.MAX_VALUE) {
                throw new IllegalArgumentException(name + "=" + value + " is not a non-negative int");
            }
            return (int) value;
        }

        int integer(String name, int absent) {
            return has(name) ? integer(name) : absent;
        }

        int port(String name, int absent) {
            if (!has(name)) {
                return absent;
            }
            int p = integer(name);
            if (p < 1 || p > 65535) {
                throw new IllegalArgumentException(name + "=" + p + " is not a TCP port (1..65535)");
            }
            return p;
        }

        Rendezvous withStore(Launcher launcher, int rank, int worldSize, int localRank, String master, int port,
                             boolean serve, String prefix) {
            Path file = has("JANUS_STORE_FILE") ? Path.of(text("JANUS_STORE_FILE", null)) : null;
            if (file == null && worldSize > 1) {
                if (master == null) {
                    throw new IllegalArgumentException(launcher + ": MASTER_ADDR is not set (the host of rank 0, which "
                            + "serves the rendezvous store), nor JANUS_STORE_FILE");
                }
                if (port < 0) {
                    throw new IllegalArgumentException(launcher + ": MASTER_PORT is not set (the rendezvous store's port)");
                }
            }
            return new Rendezvous(launcher, rank, worldSize, localRank, master, Math.max(port, 0), serve && file == null,
                    prefix, file, text("GLOO_SOCKET_IFNAME", null));
        }
    }
}
