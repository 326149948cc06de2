package admin

import "github.com/lanyard-sso/lanyard"

// directoryOwnedChanges reports the changes an administrator may not make
// to an account the LDAP directory owns: the sync would undo them at its
// next run. The fields are changed in the directory; the account can be
// taken out of the sync with source=local, or kept out of logins with
// locked=true.
func directoryOwnedChanges(before, after lanyard.User, v *lanyard.ValidationError) {
	if before.Source != lanyard.SourceLDAP || after.Source != lanyard.SourceLDAP {
		return
	}
	for _, f := range []struct {
		name      string
		old, next string
	}{
		{"login", before.Login, after.Login},
		{"email", before.Email, after.Email},
		{"firstname", before.FirstName, after.FirstName},
		{"lastname", before.LastName, after.LastName},
		{"status", string(before.Status), string(after.Status)},
	} {
		if f.old != f.next {
			hint := "change it in the directory, or take the account out of the sync with source=local"
			if f.name == "status" {
				hint = "disable it in the directory, or keep it out with locked=true"
			}
			v.Add("%s: the LDAP directory owns this account's %s (the next sync would undo the change); %s", f.name, f.name, hint)
		}
	}
}
