// Runs SQL through the ClickHouse JDBC driver (what DBeaver and Metabase load) and prints each
// query's rows as tab-separated lines after a "# columns" line, or "# error <code> <message>".
// Usage: java -cp <driver class path> PanelQuery.java JDBC_URL < queries (one per line, \n as "\\n");
// the password comes from the environment variable JDBC_PASSWORD.
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Properties;

public class PanelQuery {
    public static void main(String[] args) throws Exception {
        Properties props = new Properties();
        props.setProperty("user", "metabase");
        props.setProperty("password", System.getenv("JDBC_PASSWORD"));
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, "UTF-8"));
        try (Connection conn = DriverManager.getConnection(args[0], props)) {
            String line;
            while ((line = in.readLine()) != null) {
                if (line.isBlank()) continue;
                run(conn, line.replace("\\n", "\n"));
            }
        }
    }

    static void run(Connection conn, String sql) {
        try (Statement st = conn.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            ResultSetMetaData meta = rs.getMetaData();
            StringBuilder head = new StringBuilder("# columns");
            for (int i = 1; i <= meta.getColumnCount(); i++) {
                head.append('\t').append(meta.getColumnLabel(i)).append(':').append(meta.getColumnTypeName(i));
            }
            System.out.println(head);
            while (rs.next()) {
                StringBuilder row = new StringBuilder();
                for (int i = 1; i <= meta.getColumnCount(); i++) {
                    if (i > 1) row.append('\t');
                    Object value = rs.getObject(i);
                    row.append(rs.wasNull() ? "\\N" : String.valueOf(value));
                }
                System.out.println(row);
            }
        } catch (SQLException e) {
            System.out.println("# error " + e.getErrorCode() + " " + e.getMessage().replace('\n', ' '));
        }
    }
}
