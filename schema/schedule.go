package schema

import (
	"fmt"
	"strconv"
	"strings"
)

// ValidateSchedule checks an EventBridge schedule expression: rate(VALUE UNIT) or
// cron(MINUTES HOURS DAY-OF-MONTH MONTH DAY-OF-WEEK YEAR), following the AWS rules (one of
// day-of-month and day-of-week must be "?", singular unit for a value of 1).
func ValidateSchedule(expr string) error {
	switch {
	case strings.HasPrefix(expr, "rate(") && strings.HasSuffix(expr, ")"):
		return validateRate(expr[len("rate(") : len(expr)-1])
	case strings.HasPrefix(expr, "cron(") && strings.HasSuffix(expr, ")"):
		return validateCron(expr[len("cron(") : len(expr)-1])
	}
	return fmt.Errorf("%q is not a schedule; write cron(0 12 * * ? *) or rate(5 minutes)", expr)
}

func validateRate(body string) error {
	fields := strings.Fields(body)
	if len(fields) != 2 {
		return fmt.Errorf("rate(%s) needs a value and a unit, like rate(5 minutes)", body)
	}
	n, err := strconv.Atoi(fields[0])
	if err != nil || n <= 0 {
		return fmt.Errorf("rate value %q must be a positive whole number", fields[0])
	}
	unit := fields[1]
	singular := map[string]bool{"minute": true, "hour": true, "day": true}
	plural := map[string]bool{"minutes": true, "hours": true, "days": true}
	switch {
	case n == 1 && plural[unit]:
		return fmt.Errorf("rate(1 %s): a value of 1 takes the singular unit %q", unit, strings.TrimSuffix(unit, "s"))
	case n > 1 && singular[unit]:
		return fmt.Errorf("rate(%d %s): a value above 1 takes the plural unit %q", n, unit, unit+"s")
	case !singular[unit] && !plural[unit]:
		return fmt.Errorf("rate unit %q must be minute(s), hour(s) or day(s)", unit)
	}
	return nil
}

type cronField struct {
	name    string
	lo, hi  int
	names   []string // symbolic values, index+lo is their number
	special string   // extra characters allowed: "?", "L", "W", "#"
}

var cronFields = []cronField{
	{name: "minutes", lo: 0, hi: 59},
	{name: "hours", lo: 0, hi: 23},
	{name: "day-of-month", lo: 1, hi: 31, special: "?LW"},
	{name: "month", lo: 1, hi: 12, names: strings.Fields("JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC")},
	{name: "day-of-week", lo: 1, hi: 7, names: strings.Fields("SUN MON TUE WED THU FRI SAT"), special: "?L#"},
	{name: "year", lo: 1970, hi: 2199},
}

func validateCron(body string) error {
	fields := strings.Fields(body)
	if len(fields) != 6 {
		return fmt.Errorf("cron(%s) has %d fields; it needs 6: minutes hours day-of-month month day-of-week year", body, len(fields))
	}
	for i, f := range fields {
		if err := cronFields[i].validate(f); err != nil {
			return err
		}
	}
	dom, dow := fields[2], fields[4]
	if (dom == "?") == (dow == "?") {
		return fmt.Errorf("cron(%s): exactly one of day-of-month and day-of-week must be \"?\"", body)
	}
	return nil
}

func (cf cronField) validate(s string) error {
	if s == "?" {
		if !strings.Contains(cf.special, "?") {
			return fmt.Errorf("\"?\" is only allowed in day-of-month and day-of-week, not %s", cf.name)
		}
		return nil
	}
	for _, part := range strings.Split(s, ",") {
		if err := cf.validatePart(part); err != nil {
			return fmt.Errorf("cron %s field %q: %w", cf.name, s, err)
		}
	}
	return nil
}

func (cf cronField) validatePart(part string) error {
	base, step, hasStep := strings.Cut(part, "/")
	if hasStep {
		n, err := strconv.Atoi(step)
		if err != nil || n <= 0 || n > cf.hi {
			return fmt.Errorf("step %q must be a whole number from 1 to %d", step, cf.hi)
		}
	}
	switch {
	case base == "*":
		return nil
	case base == "L" && strings.Contains(cf.special, "L"):
		return nil
	case strings.Contains(cf.special, "W") && strings.HasSuffix(base, "W"):
		return cf.value(strings.TrimSuffix(base, "W"))
	case strings.Contains(cf.special, "L") && strings.HasSuffix(base, "L") && cf.name == "day-of-week":
		return cf.value(strings.TrimSuffix(base, "L"))
	case strings.Contains(cf.special, "#") && strings.Contains(base, "#"):
		d, nth, _ := strings.Cut(base, "#")
		if n, err := strconv.Atoi(nth); err != nil || n < 1 || n > 5 {
			return fmt.Errorf("%q: the week number after # must be 1 to 5", base)
		}
		return cf.value(d)
	}
	if lo, hi, isRange := strings.Cut(base, "-"); isRange {
		if err := cf.value(lo); err != nil {
			return err
		}
		return cf.value(hi)
	}
	return cf.value(base)
}

func (cf cronField) value(s string) error {
	for _, n := range cf.names {
		if strings.EqualFold(s, n) {
			return nil
		}
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < cf.lo || n > cf.hi {
		return fmt.Errorf("%q is not a value from %d to %d", s, cf.lo, cf.hi)
	}
	return nil
}
