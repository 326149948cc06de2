package scim

import (
	"net/http"
	"strings"
)

// The discovery documents of RFC 7644 section 4 and RFC 7643 sections 5
// to 7: what this service supports, the resource types and their schemas.

func handleSPConfig(q *request) (int, any, error) {
	return http.StatusOK, map[string]any{
		"schemas":          []string{schemaSPConfig},
		"documentationUri": "https://github.com/lanyard-sso/lanyard#scim-provisioning",
		"patch":            map[string]any{"supported": true},
		"bulk":             map[string]any{"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
		"filter":           map[string]any{"supported": true, "maxResults": MaxCount},
		"changePassword":   map[string]any{"supported": false},
		"sort":             map[string]any{"supported": false},
		"etag":             map[string]any{"supported": true},
		"authenticationSchemes": []any{map[string]any{
			"type": "oauthbearertoken", "name": "Bearer token",
			"description": "A token of scope scim of this tenant, created in the admin UI, the API or with: lanyard token create NAME --scopes scim --tenant SLUG",
			"primary":     true,
		}},
		"meta": map[string]any{"resourceType": "ServiceProviderConfig", "location": q.base + "/ServiceProviderConfig"},
	}, nil
}

func (q *request) resourceTypes() []any {
	return []any{
		map[string]any{
			"schemas": []string{schemaResType}, "id": "User", "name": "User", "endpoint": "/Users",
			"description": "User Account", "schema": SchemaUser,
			"schemaExtensions": []any{map[string]any{"schema": SchemaEnterprise, "required": false}},
			"meta":             map[string]any{"resourceType": "ResourceType", "location": q.base + "/ResourceTypes/User"},
		},
		map[string]any{
			"schemas": []string{schemaResType}, "id": "Group", "name": "Group", "endpoint": "/Groups",
			"description": "Group", "schema": SchemaGroup,
			"meta": map[string]any{"resourceType": "ResourceType", "location": q.base + "/ResourceTypes/Group"},
		},
	}
}

func handleResourceTypes(q *request) (int, any, error) {
	rts := q.resourceTypes()
	return http.StatusOK, listResponse(len(rts), 1, rts), nil
}

func handleResourceType(q *request) (int, any, error) {
	for _, rt := range q.resourceTypes() {
		if strings.EqualFold(rt.(map[string]any)["id"].(string), q.r.PathValue("id")) {
			return http.StatusOK, rt, nil
		}
	}
	return 0, nil, scimErr(http.StatusNotFound, "", "no resource type %q: use User or Group", q.r.PathValue("id"))
}

// attr describes an attribute of a schema (RFC 7643 section 7).
func attr(name, typ string, opts ...func(map[string]any)) map[string]any {
	a := map[string]any{
		"name": name, "type": typ, "multiValued": false, "required": false, "caseExact": false,
		"mutability": "readWrite", "returned": "default", "uniqueness": "none", "description": name,
	}
	for _, o := range opts {
		o(a)
	}
	return a
}

func multi(a map[string]any)     { a["multiValued"] = true }
func required(a map[string]any)  { a["required"] = true }
func caseExact(a map[string]any) { a["caseExact"] = true }
func readOnly(a map[string]any)  { a["mutability"] = "readOnly" }
func writeOnly(a map[string]any) { a["mutability"] = "writeOnly"; a["returned"] = "never" }
func unique(a map[string]any)    { a["uniqueness"] = "server" }
func sub(attrs ...map[string]any) func(map[string]any) {
	return func(a map[string]any) { a["subAttributes"] = attrs }
}

// multiValuedSubs are the sub-attributes of emails, phoneNumbers...
func multiValuedSubs() func(map[string]any) {
	return sub(attr("value", "string"), attr("display", "string"), attr("type", "string"), attr("primary", "boolean"))
}

func (q *request) schemas() []any {
	meta := func(id string) map[string]any {
		return map[string]any{"resourceType": "Schema", "location": q.base + "/Schemas/" + id}
	}
	user := map[string]any{
		"schemas": []string{schemaSchema}, "id": SchemaUser, "name": "User", "description": "User Account",
		"attributes": []any{
			attr("userName", "string", required, unique),
			attr("name", "complex", sub(attr("formatted", "string"), attr("familyName", "string"), attr("givenName", "string"),
				attr("middleName", "string"), attr("honorificPrefix", "string"), attr("honorificSuffix", "string"))),
			attr("displayName", "string"), attr("nickName", "string"), attr("profileUrl", "reference"),
			attr("title", "string"), attr("userType", "string"), attr("preferredLanguage", "string"),
			attr("locale", "string"), attr("timezone", "string"), attr("active", "boolean"),
			attr("password", "string", writeOnly),
			attr("emails", "complex", multi, multiValuedSubs()),
			attr("phoneNumbers", "complex", multi, multiValuedSubs()),
			attr("addresses", "complex", multi, sub(attr("formatted", "string"), attr("streetAddress", "string"),
				attr("locality", "string"), attr("region", "string"), attr("postalCode", "string"),
				attr("country", "string"), attr("type", "string"), attr("primary", "boolean"))),
			attr("groups", "complex", multi, readOnly, sub(attr("value", "string", readOnly), attr("$ref", "reference", readOnly),
				attr("display", "string", readOnly), attr("type", "string", readOnly))),
			attr("roles", "complex", multi, multiValuedSubs()),
			attr("entitlements", "complex", multi, multiValuedSubs()),
		},
		"meta": meta(SchemaUser),
	}
	group := map[string]any{
		"schemas": []string{schemaSchema}, "id": SchemaGroup, "name": "Group", "description": "Group",
		"attributes": []any{
			attr("displayName", "string", required, unique),
			attr("members", "complex", multi, sub(attr("value", "string", caseExact), attr("$ref", "reference"),
				attr("type", "string"), attr("display", "string", readOnly))),
		},
		"meta": meta(SchemaGroup),
	}
	enterprise := map[string]any{
		"schemas": []string{schemaSchema}, "id": SchemaEnterprise, "name": "EnterpriseUser", "description": "Enterprise User",
		"attributes": []any{
			attr("employeeNumber", "string"), attr("costCenter", "string"), attr("organization", "string"),
			attr("division", "string"), attr("department", "string"),
			attr("manager", "complex", sub(attr("value", "string"), attr("$ref", "reference"), attr("displayName", "string", readOnly))),
		},
		"meta": meta(SchemaEnterprise),
	}
	return []any{user, group, enterprise}
}

func handleSchemas(q *request) (int, any, error) {
	s := q.schemas()
	return http.StatusOK, listResponse(len(s), 1, s), nil
}

func handleSchema(q *request) (int, any, error) {
	for _, s := range q.schemas() {
		if strings.EqualFold(s.(map[string]any)["id"].(string), q.r.PathValue("id")) {
			return http.StatusOK, s, nil
		}
	}
	return 0, nil, scimErr(http.StatusNotFound, "", "no schema %q", q.r.PathValue("id"))
}
