package console_test

import (
	"os"
	"testing"

	"dealflow/deploy/localstack/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.RunTests(m)) }
