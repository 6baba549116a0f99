package alerts

import (
	"time"

	"github.com/modbot/bot/backups"
	"github.com/modbot/bot/config"
	"github.com/modbot/bot/datadir"
	"github.com/modbot/bot/internal/diskfree"
)

// SettingsFrom takes a Monitor's settings from the configuration.
func SettingsFrom(cfg *config.Config) Settings {
	return Settings{
		WebhookURL:       cfg.Alerts.WebhookURL,
		GatewayDownAfter: cfg.Alerts.GatewayDownAfter,
		MinFreeDisk:      cfg.Alerts.MinFreeDisk,
		ErrorBurst:       cfg.Alerts.ErrorBurst,
		BackupInterval:   cfg.Backup.Interval,
	}
}

// DataSources reads the records 'bot health' reads in cfg's data
// directory (the backup record, the verification record, the free disk),
// the gateway through gatewayUp and the errors through errs.
func DataSources(cfg *config.Config, gatewayUp func() bool, errs *ErrorCounter) Sources {
	return Sources{
		GatewayUp: gatewayUp,
		Backup: func() (time.Time, bool, time.Time, error) {
			st, err := backups.ReadStatus(cfg)
			if err != nil {
				return time.Time{}, false, time.Time{}, err
			}
			var attempt, success time.Time
			ok := false
			if a := st.LastAttempt; a != nil {
				attempt, ok = a.At, a.OK
			}
			if s := st.LastSuccess; s != nil {
				success = s.At
			}
			return attempt, ok, success, nil
		},
		FreeDisk: func() (uint64, error) { return diskfree.Available(cfg.Storage.DataDir) },
		Errors:   errs.Count,
		Verification: func() (time.Time, bool, string, error) {
			v, err := datadir.LastVerification(cfg)
			if err != nil || v == nil {
				return time.Time{}, false, "", err
			}
			return v.At, v.OK, v.By, nil
		},
	}
}
