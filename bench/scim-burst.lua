-- wrk script: a burst of SCIM user creates (unique userNames) interleaved with group
-- PATCHes that add the created users, as an identity provider's first sync sends them.
-- GROUP_ID and TOKEN come from the environment (bench/scim.sh sets them).

local token = os.getenv("TOKEN")
local group = os.getenv("GROUP_ID")
local counter = 0
local created = {}
local thread_id = 0

function setup(thread)
  thread_id = thread_id + 1
  thread:set("tid", thread_id)
end

function init(args)
  math.randomseed(os.time() + tid)
end

request = function()
  counter = counter + 1
  local headers = {
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/scim+json",
  }
  if counter % 4 == 0 and #created > 0 then
    local member = created[#created]
    local body = '{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"members","value":[{"value":"' .. member .. '"}]}]}'
    return wrk.format("PATCH", "/scim/v2/Groups/" .. group, headers, body)
  end
  local name = string.format("bench-%d-%d-%d@example.com", tid, counter, math.random(1, 1000000000))
  local body = '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"' .. name ..
    '","name":{"givenName":"Bench","familyName":"User"},"emails":[{"value":"' .. name ..
    '","type":"work","primary":true}],"active":true}'
  return wrk.format("POST", "/scim/v2/Users", headers, body)
end

response = function(status, headers, body)
  if status == 201 then
    local id = string.match(body, '"id":"([0-9a-f%-]+)"')
    if id then
      created[#created + 1] = id
    end
  elseif status >= 400 then
    io.stderr:write("unexpected status " .. status .. ": " .. body .. "\n")
  end
end
