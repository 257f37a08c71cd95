package ai.janus.dist;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.janus.dist.Rendezvous.Launcher;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The launchers' environments, as each sets them, read into a {@link Rendezvous}. */
class RendezvousTest {
    @Test
    void nothingSetIsOneLocalProcess() {
        Rendezvous r = Rendezvous.fromEnvironment(Map.of("HOME", "/root"));
        assertEquals(Launcher.LOCAL, r.launcher());
        assertEquals(0, r.rank());
        assertEquals(1, r.worldSize());
    }

    @Test
    void torchrun() {
        Rendezvous r = Rendezvous.fromEnvironment(Map.of("RANK", "3", "WORLD_SIZE", "8", "LOCAL_RANK", "1",
                "LOCAL_WORLD_SIZE", "2", "MASTER_ADDR", "10.0.0.5", "MASTER_PORT", "29500", "TORCHELASTIC_RUN_ID", "job7"));
        assertEquals(Launcher.TORCHRUN, r.launcher());
        assertEquals(3, r.rank());
        assertEquals(8, r.worldSize());
        assertEquals(1, r.localRank());
        assertEquals("10.0.0.5", r.masterAddr());
        assertEquals(29500, r.masterPort());
        assertFalse(r.serveStore(), "only rank 0 serves the store");
        assertEquals(Rendezvous.PREFIX, r.storePrefix());
        Rendezvous zero = Rendezvous.fromEnvironment(Map.of("RANK", "0", "WORLD_SIZE", "8", "LOCAL_RANK", "0",
                "MASTER_ADDR", "10.0.0.5", "MASTER_PORT", "29500"));
        assertTrue(zero.serveStore());
    }

    @Test
    void torchrunsAgentStoreIsJoinedAsAClientUnderTheAttemptPrefix() {
        Rendezvous r = Rendezvous.fromEnvironment(Map.of("RANK", "0", "WORLD_SIZE", "2", "LOCAL_RANK", "0",
                "MASTER_ADDR", "127.0.0.1", "MASTER_PORT", "29500", "TORCHELASTIC_USE_AGENT_STORE", "True",
                "TORCHELASTIC_RESTART_COUNT", "2", "TORCHELASTIC_RUN_ID", "x"));
        assertFalse(r.serveStore(), "the agent serves it, even for rank 0");
        assertEquals("/worker/attempt_2/" + Rendezvous.PREFIX, r.storePrefix());
        assertEquals("127.0.0.1", r.glooHost());
    }

    @Test
    void pyTorchJobSetsRankWithoutLocalRank() {
        Rendezvous r = Rendezvous.fromEnvironment(Map.of("RANK", "1", "WORLD_SIZE", "4", "MASTER_ADDR",
                "train-master-0", "MASTER_PORT", "23456", "PYTHONUNBUFFERED", "0"));
        assertEquals(Launcher.KUBERNETES_PYTORCHJOB, r.launcher());
        assertEquals(1, r.rank());
        assertEquals(0, r.localRank());
        assertEquals("train-master-0", r.masterAddr());
    }

    @Test
    void openMpi() {
        Rendezvous r = Rendezvous.fromEnvironment(Map.of("OMPI_COMM_WORLD_RANK", "5", "OMPI_COMM_WORLD_SIZE", "6",
                "OMPI_COMM_WORLD_LOCAL_RANK", "2", "MASTER_ADDR", "n1", "MASTER_PORT", "29400"));
        assertEquals(Launcher.OPEN_MPI, r.launcher());
        assertEquals(5, r.rank());
        assertEquals(6, r.worldSize());
        assertEquals(2, r.localRank());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Rendezvous.fromEnvironment(
                Map.of("OMPI_COMM_WORLD_RANK", "1", "OMPI_COMM_WORLD_SIZE", "2", "MASTER_PORT", "1")));
        assertTrue(e.getMessage().contains("MASTER_ADDR is not set"), e.getMessage());
    }

    @Test
    void indexedJob() {
        Rendezvous r = Rendezvous.fromEnvironment(Map.of("JOB_COMPLETION_INDEX", "2", "WORLD_SIZE", "3",
                "MASTER_ADDR", "train-0.train", "MASTER_PORT", "29500"));
        assertEquals(Launcher.KUBERNETES_INDEXED_JOB, r.launcher());
        assertEquals(2, r.rank());
        assertEquals(3, r.worldSize());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Rendezvous.fromEnvironment(Map.of("JOB_COMPLETION_INDEX", "2")));
        assertTrue(e.getMessage().contains("set WORLD_SIZE"), e.getMessage());
    }

    @Test
    void slurmFindsTheMasterInTheNodeListAndAPortFromTheJobId() {
        Rendezvous r = Rendezvous.fromEnvironment(Map.of("SLURM_PROCID", "7", "SLURM_NTASKS", "16", "SLURM_LOCALID",
                "3", "SLURM_JOB_NODELIST", "gpu[012-015,020]", "SLURM_JOB_ID", "1234567"));
        assertEquals(Launcher.SLURM, r.launcher());
        assertEquals(7, r.rank());
        assertEquals(16, r.worldSize());
        assertEquals(3, r.localRank());
        assertEquals("gpu012", r.masterAddr());
        assertEquals(20000 + 4567, r.masterPort());
        Rendezvous explicit = Rendezvous.fromEnvironment(Map.of("SLURM_PROCID", "0", "SLURM_NTASKS", "2",
                "SLURM_JOB_NODELIST", "a,b", "MASTER_ADDR", "b", "MASTER_PORT", "1234"));
        assertEquals("b", explicit.masterAddr());
        assertEquals(1234, explicit.masterPort());
        assertTrue(explicit.serveStore());
    }

    @Test
    void slurmHostlists() {
        assertEquals("node07", Rendezvous.firstHost("node[07-09,12],gpu3"));
        assertEquals("rack1-n01", Rendezvous.firstHost("rack[1-2]-n[01-04]"));
        assertEquals("a", Rendezvous.firstHost("a,b"));
        assertEquals("n5", Rendezvous.firstHost("n[5]"));
        assertThrows(IllegalArgumentException.class, () -> Rendezvous.firstHost("n[1-2"));
    }

    @Test
    void launcherPrecedence() {
        // torchrun inside an srun step: torchrun's per-process RANK wins over the step's SLURM_PROCID
        Rendezvous r = Rendezvous.fromEnvironment(Map.of("RANK", "1", "WORLD_SIZE", "2", "LOCAL_RANK", "1",
                "MASTER_ADDR", "h", "MASTER_PORT", "1", "SLURM_PROCID", "0", "SLURM_NTASKS", "1"));
        assertEquals(Launcher.TORCHRUN, r.launcher());
        // mpirun inside an sbatch allocation: every process inherits SLURM_PROCID=0, Open MPI's rank wins
        Rendezvous m = Rendezvous.fromEnvironment(Map.of("OMPI_COMM_WORLD_RANK", "1", "OMPI_COMM_WORLD_SIZE", "2",
                "MASTER_ADDR", "h", "MASTER_PORT", "1", "SLURM_PROCID", "0", "SLURM_NTASKS", "1"));
        assertEquals(Launcher.OPEN_MPI, m.launcher());
    }

    @Test
    void aFileStoreReplacesTheTcpStore() {
        Rendezvous r = Rendezvous.fromEnvironment(Map.of("RANK", "0", "WORLD_SIZE", "2", "LOCAL_RANK", "0",
                "JANUS_STORE_FILE", "/shared/job/store"));
        assertEquals(Path.of("/shared/job/store"), r.storeFile());
        assertFalse(r.serveStore(), "no TCPStore to serve");
        assertNull(r.masterAddr());
    }

    @Test
    void badValuesAreOneLineNamingTheVariable() {
        assertEquals("rank 4 is outside [0, 4) (TORCHRUN)", assertThrows(IllegalArgumentException.class,
                () -> Rendezvous.fromEnvironment(Map.of("RANK", "4", "WORLD_SIZE", "4", "LOCAL_RANK", "0",
                        "MASTER_ADDR", "h", "MASTER_PORT", "1"))).getMessage());
        assertEquals("RANK='x' is not an integer", assertThrows(IllegalArgumentException.class,
                () -> Rendezvous.fromEnvironment(Map.of("RANK", "x", "WORLD_SIZE", "4"))).getMessage());
        assertEquals("MASTER_PORT=70000 is not a TCP port (1..65535)", assertThrows(IllegalArgumentException.class,
                () -> Rendezvous.fromEnvironment(Map.of("RANK", "0", "WORLD_SIZE", "2", "MASTER_ADDR", "h",
                        "MASTER_PORT", "70000"))).getMessage());
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Rendezvous.fromEnvironment(Map.of("RANK", "0",
                "WORLD_SIZE", "2", "MASTER_ADDR", "h"))).getMessage().contains("MASTER_PORT is not set"));
    }

    @Test
    void glooBindsToLoopbackForALoopbackStore() {
        assertEquals("127.0.0.1", Rendezvous.fromEnvironment(Map.of("RANK", "0", "WORLD_SIZE", "2",
                "MASTER_ADDR", "localhost", "MASTER_PORT", "2")).glooHost());
        assertEquals("eth1", Rendezvous.fromEnvironment(Map.of("RANK", "0", "WORLD_SIZE", "2",
                "MASTER_ADDR", "localhost", "MASTER_PORT", "2", "GLOO_SOCKET_IFNAME", "eth1")).glooInterface());
    }
}
