package localmind.testing;

import java.nio.file.Path;
import java.util.Map;
import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.connectors.HttpConnector;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.dbms.api.DatabaseManagementService;
import org.neo4j.dbms.api.DatabaseManagementServiceBuilder;

/**
 * Runs a Neo4j DBMS embedded in this JVM with Bolt on 127.0.0.1:PORT and authentication on.
 *
 * <p>Usage: {@code java -cp 'lib/*' localmind.testing.Neo4jLauncher HOME PORT}, with the password of the
 * {@code neo4j} user in the environment variable NEO4J_TEST_PASSWORD (never on the command line, where
 * other users could read it). Prints {@code READY <port>} once Bolt accepts connections, and shuts the
 * DBMS down cleanly when standard input closes or the process is terminated.
 */
public final class Neo4jLauncher {
  private Neo4jLauncher() {}

  public static void main(String[] args) throws Exception {
    if (args.length != 2) {
      System.err.println("usage: Neo4jLauncher HOME PORT");
      System.exit(2);
    }
    String password = System.getenv("NEO4J_TEST_PASSWORD");
    if (password == null || password.length() < 8) {
      System.err.println("NEO4J_TEST_PASSWORD must hold a password of at least 8 characters");
      System.exit(2);
    }
    int port = Integer.parseInt(args[1]);
    DatabaseManagementService dbms = start(Path.of(args[0]), port);
    Runtime.getRuntime().addShutdownHook(new Thread(dbms::shutdown));
    dbms.database("system")
        .executeTransactionally(
            "ALTER USER neo4j SET PASSWORD $password CHANGE NOT REQUIRED", Map.of("password", password));
    System.out.println("READY " + port);
    System.out.flush();
    while (System.in.read() != -1) {
      // Runs until the parent closes standard input.
    }
    System.exit(0);
  }

  private static DatabaseManagementService start(Path home, int port) {
    return new DatabaseManagementServiceBuilder(home)
        .setConfig(BoltConnector.enabled, true)
        .setConfig(BoltConnector.listen_address, new SocketAddress("127.0.0.1", port))
        .setConfig(BoltConnector.encryption_level, BoltConnector.EncryptionLevel.DISABLED)
        .setConfig(HttpConnector.enabled, false)
        .setConfig(GraphDatabaseSettings.auth_enabled, true)
        .setConfig(GraphDatabaseSettings.pagecache_memory, 64L * 1024 * 1024)
        .build();
  }
}
