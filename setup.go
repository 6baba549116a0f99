package main

import (
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/modbot/bot/config"
	"github.com/modbot/bot/keys"
)

// configFlag registers -c and --config on fs; both set the same value.
func configFlag(fs *flag.FlagSet) *string {
	p := new(string)
	fs.StringVar(p, "c", "", "config file (default config.toml in the working directory)")
	fs.StringVar(p, "config", "", "config file (default config.toml in the working directory)")
	return p
}

// loadConfig loads the configuration and prints its warnings to stderr.
func (e *env) loadConfig(path string, flags map[string]string) (*config.Config, error) {
	cfg, warnings, err := config.Load(config.Source{
		Path:         path,
		PathExplicit: path != "",
		Environ:      e.environ,
		Flags:        flags,
		WorkDir:      e.workDir,
	})
	if err != nil {
		return nil, err
	}
	for _, w := range warnings {
		fmt.Fprintf(e.stderr, "warning: %s\n", w.Message)
	}
	return cfg, nil
}

// logger builds the logger that config asks for, writing to stderr with
// every secret redacted: the token, and the master key whether it comes
// from the environment or from its file.
func (e *env) logger(cfg *config.Config) (*slog.Logger, error) {
	secrets := cfg.Secrets()
	if cfg.Keys.MasterKeyFile != "" {
		if raw, err := os.ReadFile(cfg.Keys.MasterKeyFile); err == nil {
			secrets = append(secrets, strings.TrimSpace(string(raw)))
		}
	}
	return config.NewLogger(e.stderr, e.terminal, cfg.Log, secrets...)
}

// masterKey returns the master key that cfg names, or nil when none is set.
func masterKey(cfg *config.Config) ([]byte, error) {
	// config.Load already refuses both being set.
	switch {
	case cfg.Keys.MasterKey != "":
		k, err := keys.ParseMasterKey(cfg.Keys.MasterKey)
		if err != nil {
			return nil, fmt.Errorf("keys.master_key: %w", err)
		}
		return k, nil
	case cfg.Keys.MasterKeyFile != "":
		raw, err := os.ReadFile(cfg.Keys.MasterKeyFile)
		if err != nil {
			return nil, fmt.Errorf("keys.master_key_file: %w", err)
		}
		k, err := keys.ParseMasterKey(string(raw))
		if err != nil {
			return nil, fmt.Errorf("keys.master_key_file %s: %w", cfg.Keys.MasterKeyFile, err)
		}
		return k, nil
	}
	return nil, nil
}
