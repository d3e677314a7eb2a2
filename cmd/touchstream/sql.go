package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"

	sqlfiles "github.com/touchstream/touchstream/sql"
)

// perCallQueries are the query files whose templates take data of their
// own (the steps, the texts of other queries), rendered by their reports.
var perCallQueries = []string{"funnel", "funnel_dropoff", "funnel_modes", "funnel_modes_dropoff", "stages"}

func runSQL(_ context.Context, args []string) error {
	return printSQL(os.Stdout, args)
}

// printSQL writes sql/queries/NAME.sql as a report without a filter runs
// it (sqlfiles.Query: the file's Go template actions rendered), to send to
// ClickHouse by hand. Templates with data of their own (funnel.sql,
// stages.sql) are rendered by their reports and have views instead.
func printSQL(out io.Writer, args []string) error {
	var filtered bool
	fs := newFlagSet("sql", "SQL_")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: touchstream sql NAME [flags]\n\nprints sql/queries/NAME.sql as the report runs it\n\nflags:\n")
		fs.PrintDefaults()
	}
	fs.Bool(&filtered, "filtered", "the text of a filtered report (--channel, --touchpoint, --where), which reads the parameters only_channels, only_touchpoints, only_keys and only_values")
	name := ""
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		name, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if name == "" && fs.NArg() == 1 {
		name = fs.Arg(0)
	} else if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if name == "" {
		fs.Usage()
		return errors.New("which query? e.g. touchstream sql abandonment")
	}
	if slices.Contains(perCallQueries, name) {
		return fmt.Errorf("%s.sql is rendered per report call (a funnel's steps; stages with the texts of abandonment.sql and time_on_site.sql): run touchstream report; BI tools have the funnel views report_funnel_2 ... report_funnel_8 (sql/README.md)", name)
	}
	text, err := sqlfiles.Query(name, filtered)
	if err != nil {
		return err
	}
	_, err = io.WriteString(out, text)
	return err
}
