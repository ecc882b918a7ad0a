"""Answers modelled on the R7 spec's examples (quirks kept: 7-digit fractions, padded colours,
``0001-01-01T00:00:00``, a listing that answers one bare object, secrets next to the user)."""

from __future__ import annotations

AUTH_TOKEN = "98bb0f1f-eba1-4c48-afde-b7807146db75"
REFRESH_TOKEN = "01f54c1d-1ad6-4a9b-8750-2e63d27307fd"
SHARER_TOKEN = "a219bbec-201c-4b0d-832a-fe9ca0360ab0"
PASSWORD_HASH = "IWaBhVgmn6ReR6R8BS8Avju6OoFyf2POm3T1YFnUb0iqtxPgZYDu11BKnIBFj41N9NymyNNZ+Z9g=="

LOGIN = f"""{{
  "Status": 200, "StatusCode": 200,
  "Response": {{
    "TypeName": "AuthResponse",
    "Data": {{
      "Tokens": {{
        "Id": 2, "User": null,
        "ClientHash": "402b79c4e6d8c47ec91b6c282831a5a504568af6034fdf769e21811be7ab6272",
        "AuthToken": "{AUTH_TOKEN}", "RefreshToken": "{REFRESH_TOKEN}",
        "UserId": 3, "ExpiredAt": "2025-06-20T13:30:39.1471832Z", "Type": null
      }},
      "State": "Login",
      "User": {{
        "Id": 3, "Login": "user_test", "Name": "Сизый Федор Петрович", "Surname": "Сизый",
        "FirstName": "Федор", "MiddleName": "Петрович", "Company": null, "Department": null,
        "Position": null, "Jid": "13627706386606492567", "BirthDate": null,
        "PhoneNumber": null, "MobilePhone": null, "WorkPhone": null,
        "Email": "siz_test@devr7.ru",
        "NotApproved": [{{"Type": "Email", "Value": "siz_test@devr7.ru"}}],
        "About": null, "Modified": "0001-01-01T00:00:00", "ContactId": 3, "Type": 0,
        "Status": 1,
        "Roles": [{{"Id": 3, "CustomerId": 1, "Type": 4, "Name": "R7", "ParentId": null,
                    "ExternalId": null, "Parent": null,
                    "Timestamp": "2025-06-19T13:19:53.792505Z", "ChangeDate": null,
                    "OwnerId": null}}],
        "Group": null, "Avatar": null, "Interests": null, "City": null,
        "Customer": {{"Id": 1, "Status": 1, "Title": "R7", "Company": "P7", "IsRoot": true}},
        "DataStorageQuota": null, "Profile": null, "HasAvatar": false
      }},
      "ModulesAccess": ["Disk", "Admin", "Mail", "Calendar", "Draw", "Contacts", "Projects"]
    }}
  }}
}}""".encode()

CALENDAR_CREATED = b"""{
  "Id": 45, "Name": "test", "ShortName": "testVKA", "ImageId": null, "Color": "#FFC078",
  "BackColor": null, "CustomerId": 1, "OwnerId": 14, "Type": 1, "Status": 1,
  "Uid": "6804121f-9c9a-43a7-a93e-bc976c07d81a", "TimezoneId": null, "ViewPeriod": 0,
  "Timestamp": null,
  "Url": "https://cddisk.s7-office.site/api/v1/caldav/6804121f-9c9a-43a7-a93e-bc976c07d81a"
}"""

CALENDARS = b"""[
  {"Id": 2, "Name": "vka1 vka1 vka1", "ShortName": "vka1 vka1 vka1", "ImageId": null,
   "Color": " #74C0FC ", "BackColor": " #74C0FC ", "CustomerId": 1, "OwnerId": 5, "Type": 0,
   "Status": 1, "AccessType": 512, "Uid": "f07225fa-8533-4c60-8fe1-c4e0743ac63b",
   "Url": "https://cddisk.test1.r7ru.ru/api/v1/caldev/f07225fa", "ViewPeriod": 3,
   "TimezoneId": null},
  {"Id": 3, "Name": "testAPI", "ShortName": "test_Work", "ImageId": null,
   "Color": " #FFC078 ", "BackColor": null, "CustomerId": 1, "OwnerId": 5, "Type": 1,
   "Status": 1, "AccessType": 8, "Uid": "152cc209-4015-412c-9f80-29d59f79a450",
   "Url": "https://cddisk.test1.r7ru.ru/api/v1/caldev/152cc209", "ViewPeriod": 3,
   "TimezoneId": null, "SomethingNew": {"x": 1}}
]"""

SHARE = f"""{{
  "Ids": [2], "UserIds": [4, 3], "RoleIds": null, "Type": 4,
  "User": {{
    "Id": 5, "CustomerId": 1, "ContactId": 5, "Login": "vka1",
    "PasswordHash": "{PASSWORD_HASH}",
    "Name": "vka1 vka1 vka1", "Email": "", "Type": 0, "Jid": "04470113772683140074",
    "Status": 1,
    "Roles": [{{"Id": 3, "CustomerId": 1, "Type": 4, "Name": "R7", "ParentId": null,
                "ExternalId": null, "Parent": null,
                "Timestamp": "2025-06-20T09:57:15.092755Z", "ChangeDate": null,
                "OwnerId": null}}],
    "Contact": {{"Id": 5, "State": 1, "FullName": "vka1 vka1 vka1", "Login": "vka1",
                 "Json": "{{\\"UserInterests\\":null}}", "HasAvatar": false}},
    "DateOfCreate": "2025-06-30T03:40:29.587162Z", "Modified": "2025-06-30T03:40:29.587162Z",
    "Gender": 0, "PhotoId": null, "Culture": null, "HasAvatar": false,
    "ApiContext": {{"Ip": "192.168.25.252", "UserAgent": "bruno-runtime/2.6.1", "Os": "Other",
                    "Browser": "Other", "DeviceType": 1, "Token": "{SHARER_TOKEN}"}}
  }},
  "EntityType": 14, "Recursive": false, "Notify": false
}}""".encode()

EVENT_CREATED = """{
  "Id": 4, "Name": "События из API", "Description": null,
  "StartDate": "2025-06-30T10:00:00Z", "EndDate": "2025-06-30T11:30:00Z", "CalendarId": 2,
  "CategoryId": null, "OwnerId": 5, "Type": 0, "Status": 0, "Address": null, "Place": null,
  "IsPrivate": false, "IsAllDay": false, "IsFree": null, "HasMaterials": false,
  "HasParticipant": false, "CalendarTimeZoneId": null, "TimeZoneId": null,
  "EndTimeZoneId": null, "Recurring": null, "Exceptions": null, "Participants": [],
  "ParticipantInfo": null, "Organizer": null, "SaveType": 0,
  "Uid": "e1a83e6e-8de3-43be-b9d1-bbc2913c041e",
  "LastModificationDate": "2025-06-30T06:28:58.6359639Z", "ParentId": null, "Parent": null,
  "StartTimeZoneOffset": 0, "EndTimeZoneOffset": 0, "OrganizerId": 5
}""".encode()

# The spec's listing example: one event, sent as a bare object rather than a list.
EVENTS_ONE_OBJECT = """{
  "Id": 4, "Name": "События из API", "Description": null,
  "StartDate": "2025-06-30T10:00:00Z", "EndDate": "2025-06-30T11:30:00Z", "CalendarId": 2,
  "CategoryId": null, "OwnerId": 5, "Type": 0, "Status": 0, "Address": null, "Place": null,
  "IsPrivate": false, "IsAllDay": false, "IsFree": null, "HasMaterials": false,
  "HasParticipant": false, "CalendarTimeZoneId": null, "TimeZoneId": null,
  "EndTimeZoneId": null, "Recurring": {"Freq": "WEEKLY", "Interval": 1},
  "Exceptions": ["2025-07-07T10:00:00Z"], "Participants": null,
  "ParticipantInfo": {"AccessType": 512, "AttendingType": null, "Description": null},
  "Organizer": null, "SaveType": 0, "Uid": "e1a83e6e-8de3-43be-b9d1-bbc2913c041e",
  "LastModificationDate": "2025-06-30T06:28:58.64038Z", "ParentId": null, "Parent": null,
  "StartTimeZoneOffset": 0, "EndTimeZoneOffset": 0, "OrganizerId": 5
}""".encode()
