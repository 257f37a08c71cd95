package ai.janus.dist;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Where rank 0's TCPStore listens. The store has no authentication, so for a loopback
 * MASTER_ADDR it must listen on 127.0.0.1 only, never on every interface (libtorch's own socket
 * binds {@code *:PORT}, which would expose the store to the whole network).
 */
class C10dStoreTest {
    static final Duration TIMEOUT = Duration.ofSeconds(20);

    /** This process's TCP sockets in state LISTEN on {@code port}: "address:port" as /proc/net writes them, decoded. */
    static List<String> listeningAddresses(int port) throws IOException {
        Set<String> mine = new HashSet<>();
        try (DirectoryStream<Path> fds = Files.newDirectoryStream(Path.of("/proc/self/fd"))) {
            for (Path fd : fds) {
                try {
                    mine.add(Files.readSymbolicLink(fd).toString());
                } catch (IOException e) {
                    // closed meanwhile
                }
            }
        }
        List<String> out = new ArrayList<>();
        for (String table : List.of("/proc/self/net/tcp", "/proc/self/net/tcp6")) {
            for (String line : Files.readAllLines(Path.of(table))) {
                String[] f = line.strip().split("\\s+");
                if (f.length <= 9 || !f[3].equals("0A") || !mine.contains("socket:[" + f[9] + "]")) {
                    continue;
                }
                String[] local = f[1].split(":");
                if (Integer.parseInt(local[1], 16) == port) {
                    out.add(decode(local[0]) + ":" + port);
                }
            }
        }
        return out;
    }

    /** /proc/net/tcp's hex address (little-endian 32-bit words) as text: 0100007F → 127.0.0.1. */
    static String decode(String hex) {
        byte[] b = new byte[hex.length() / 2];
        for (int word = 0; word < b.length / 4; word++) {
            for (int i = 0; i < 4; i++) {
                b[word * 4 + i] = (byte) Integer.parseInt(hex.substring(word * 8 + (3 - i) * 2, word * 8 + (3 - i) * 2 + 2), 16);
            }
        }
        try {
            return java.net.InetAddress.getByAddress(b).getHostAddress();
        } catch (java.net.UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    @Test
    void decodesProcNetAddresses() {
        assertEquals("127.0.0.1", decode("0100007F"));
        assertEquals("0.0.0.0", decode("00000000"));
        assertEquals("0:0:0:0:0:0:0:0", decode("00000000000000000000000000000000"));
    }

    @Test
    void aLoopbackMasterAddrIsServedOnLoopbackOnly() throws Exception {
        int port = freePort();
        try (C10dStore server = C10dStore.tcp("127.0.0.1", port, true, 2, TIMEOUT, Rendezvous.PREFIX);
             C10dStore client = C10dStore.tcp("127.0.0.1", port, false, 2, TIMEOUT, Rendezvous.PREFIX)) {
            assertEquals(List.of("127.0.0.1:" + port), listeningAddresses(port),
                    "the store must listen on 127.0.0.1:" + port + " only");
            // and it works: what one side sets, the other reads
            server.set("k", "v".getBytes(StandardCharsets.UTF_8));
            assertArrayEquals("v".getBytes(StandardCharsets.UTF_8), client.get("k"));
            assertEquals(3, client.add("n", 3));
            assertEquals(5, server.add("n", 2));
            assertNull(client.tryGet("absent"));
        }
        assertTrue(listeningAddresses(port).isEmpty(), "closing the store stops listening");
    }

    @Test
    void localhostAndMachineNamesBindTheirOwnAddress() throws Exception {
        assertTrue(C10dStore.listenAddress("localhost").isLoopbackAddress());
        assertEquals("127.0.0.1", C10dStore.listenAddress("127.0.0.1").getHostAddress());
        // a machine name that resolves to a loopback address here (Debian's 127.0.1.1) must stay
        // reachable by the other machines: every interface, as libtorch would
        java.net.InetAddress self = java.net.InetAddress.getLocalHost();
        java.net.InetAddress listen = C10dStore.listenAddress(self.getHostName());
        if (self.isLoopbackAddress()) {
            assertNull(listen);
        } else {
            assertEquals(self, listen);
            assertFalse(listen.isAnyLocalAddress());
        }
    }
}
