// Package download answers a file for the browser to save, such as the
// users' CSV export of the admin UI and of the API.
package download

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
)

// CSV answers the CSV that write produces as the attachment filename. write
// runs into a buffer first: a failure half-way returns its error with
// nothing written, for the caller to answer in its own way, never a
// truncated file.
func CSV(ctx context.Context, w http.ResponseWriter, filename string, write func(context.Context, io.Writer) error) error {
	var buf bytes.Buffer
	if err := write(ctx, &buf); err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", filename))
	h.Set("Cache-Control", "no-store")
	_, _ = w.Write(buf.Bytes())
	return nil
}
