// Package loadrun holds what the load tools (lanyard-acsload,
// lanyard-seed verify) share to report a run: the median of its rounds and
// the machine's load average at the time.
package loadrun

import (
	"os"
	"slices"
	"strings"
	"time"
)

// Median returns the median of xs (the mean of the two middle values for
// an even count), 0 for none. xs is not reordered.
func Median[T float64 | time.Duration](xs []T) T {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// LoadAverage returns the 1, 5 and 15 minute load averages as
// /proc/loadavg shows them, "?" where it cannot be read.
func LoadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}
