package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	iofs "io/fs"
	"os"

	sqlfiles "github.com/touchstream/touchstream/sql"
)

func runSQL(_ context.Context, args []string) error {
	return printSQL(os.Stdout, args)
}

// printSQL writes sql/queries/NAME.sql as a report without a filter runs
// it (sqlfiles.Query: the file's Go template actions rendered), to send to
// ClickHouse by hand. A file that does not render on its own needs data of
// its report (funnel.sql its steps, the drop-off files funnel.sql's
// defines, stages.sql the texts of other queries): it is refused with a
// pointer to the report and the funnel views.
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
	text, err := sqlfiles.Query(name, filtered)
	if errors.Is(err, iofs.ErrNotExist) {
		return err
	}
	if err != nil {
		return fmt.Errorf("%s.sql is rendered per report call, with data of its report (a funnel's steps, the defines of funnel.sql, the texts of abandonment.sql and time_on_site.sql): run touchstream report; BI tools have the funnel views report_funnel_2 ... report_funnel_8 (sql/README.md): %w", name, err)
	}
	_, err = io.WriteString(out, text)
	return err
}
