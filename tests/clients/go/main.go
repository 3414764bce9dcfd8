// Command sqlclient runs SQL through clickhouse-go v2 over HTTP — the driver inside Grafana's
// ClickHouse plugin — and prints each query's rows as JSON lines, scanned into the Go types the
// driver picks for each column (time.Time, float64, string, *T for Nullable, uint64, ...).
//
// Usage: sqlclient HOST:PORT DATABASE < queries.json; the password comes from SQLCLIENT_PASSWORD,
// SQLCLIENT_LZ4=1 asks for LZ4-compressed answers.
// queries.json is a JSON array of SQL strings; output is one JSON object per query:
// {"columns": [...], "types": [...], "rows": [[...], ...]} or {"error": "...", "code": N}.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"reflect"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
)

type result struct {
	Columns []string        `json:"columns,omitempty"`
	Types   []string        `json:"types,omitempty"`
	Rows    [][]interface{} `json:"rows"`
	Error   string          `json:"error,omitempty"`
	Code    int32           `json:"code,omitempty"`
}

func plain(value interface{}) interface{} {
	v := reflect.ValueOf(value)
	for v.Kind() == reflect.Ptr {
		if v.IsNil() {
			return nil
		}
		v = v.Elem()
	}
	switch x := v.Interface().(type) {
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Sprint(x) // JSON has no NaN: "NaN", "+Inf", "-Inf"
		}
		return x
	default:
		return x
	}
}

func run(ctx context.Context, conn clickhouse.Conn, sql string) result {
	rows, err := conn.Query(ctx, sql)
	if err != nil {
		return failure(err)
	}
	defer rows.Close()
	out := result{Columns: rows.Columns(), Rows: [][]interface{}{}}
	types := rows.ColumnTypes()
	for _, t := range types {
		out.Types = append(out.Types, t.DatabaseTypeName())
	}
	for rows.Next() {
		dest := make([]interface{}, len(types))
		for i, t := range types {
			dest[i] = reflect.New(t.ScanType()).Interface()
		}
		if err := rows.Scan(dest...); err != nil {
			return failure(err)
		}
		row := make([]interface{}, len(dest))
		for i, d := range dest {
			row[i] = plain(d)
		}
		out.Rows = append(out.Rows, row)
	}
	if err := rows.Err(); err != nil {
		return failure(err)
	}
	return out
}

func failure(err error) result {
	var ex *clickhouse.Exception
	if errors.As(err, &ex) {
		return result{Error: ex.Error(), Code: ex.Code}
	}
	return result{Error: err.Error()}
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: sqlclient HOST:PORT DATABASE < queries.json")
		os.Exit(2)
	}
	var queries []string
	if err := json.NewDecoder(os.Stdin).Decode(&queries); err != nil {
		fmt.Fprintln(os.Stderr, "reading queries:", err)
		os.Exit(2)
	}
	var compression *clickhouse.Compression
	if os.Getenv("SQLCLIENT_LZ4") == "1" { // ClickHouse's block compression (compress=1)
		compression = &clickhouse.Compression{Method: clickhouse.CompressionLZ4}
	}
	conn, err := clickhouse.Open(&clickhouse.Options{
		Compression: compression,
		Addr:        []string{os.Args[1]},
		Protocol:    clickhouse.HTTP,
		Auth: clickhouse.Auth{
			Database: os.Args[2],
			Username: "grafana",
			Password: os.Getenv("SQLCLIENT_PASSWORD"),
		},
		DialTimeout: 10 * time.Second,
		ReadTimeout: 60 * time.Second,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		os.Exit(1)
	}
	defer conn.Close()
	ctx := context.Background()
	encoder := json.NewEncoder(os.Stdout)
	for _, sql := range queries {
		if err := encoder.Encode(run(ctx, conn, sql)); err != nil {
			fmt.Fprintln(os.Stderr, "writing:", err)
			os.Exit(1)
		}
	}
}
