// Command gen writes the v1 upgrade data set: a database of schema version
// 1 with its keys, holding records written as the bot of that schema wrote
// them, and the plaintexts they stand for.
//
//	rm -rf internal/upgradetest/testdata/v1/data internal/upgradetest/testdata/v1/expected.json
//	go run ./internal/upgradetest/gen -out internal/upgradetest/testdata/v1
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/modbot/bot/internal/upgradetest"
)

func main() {
	out := flag.String("out", "internal/upgradetest/testdata/v1", "directory of the data set")
	flag.Parse()
	if err := upgradetest.GenerateV1(context.Background(), *out); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
	fmt.Printf("wrote %s/data and %s/%s\n", *out, *out, upgradetest.ExpectedFile)
}
