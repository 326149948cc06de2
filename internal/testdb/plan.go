package testdb

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
)

// RowsRemoved runs a statement under PostgreSQL's EXPLAIN (ANALYZE) on
// conn and returns the most rows one node of its plan read and dropped by
// its filter, which node, and the plan: a lookup through the wrong index
// reads the rows the right one would have skipped.
func RowsRemoved(ctx context.Context, conn *sql.Conn, stmt string) (removed float64, node, plan string, err error) {
	if err := conn.QueryRowContext(ctx, `EXPLAIN (ANALYZE, FORMAT JSON) `+stmt).Scan(&plan); err != nil {
		return 0, "", "", err
	}
	var plans []struct{ Plan planNode }
	if err := json.Unmarshal([]byte(plan), &plans); err != nil || len(plans) != 1 {
		return 0, "", plan, fmt.Errorf("EXPLAIN gave %d plans: %v", len(plans), err)
	}
	removed, node = plans[0].Plan.mostRemoved()
	return removed, node, plan, nil
}

// planNode is a node of PostgreSQL's EXPLAIN (FORMAT JSON).
type planNode struct {
	NodeType  string     `json:"Node Type"`
	IndexName string     `json:"Index Name"`
	Removed   float64    `json:"Rows Removed by Filter"`
	Plans     []planNode `json:"Plans"`
}

// mostRemoved returns the most rows a node of the tree dropped by its
// filter, and the node.
func (n planNode) mostRemoved() (float64, string) {
	most, where := n.Removed, strings.TrimSpace(n.NodeType+" "+n.IndexName)
	for _, c := range n.Plans {
		if r, w := c.mostRemoved(); r > most {
			most, where = r, w
		}
	}
	return most, where
}
