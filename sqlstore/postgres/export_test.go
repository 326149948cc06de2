package postgres

import (
	"context"
	"time"

	"github.com/lanyard-sso/lanyard/sqlstore"
)

// OpenWithStatisticsInterval is Open with the statistics keeper passing
// every interval.
func OpenWithStatisticsInterval(ctx context.Context, url string, interval time.Duration) (*sqlstore.DB, error) {
	return open(ctx, url, interval)
}
